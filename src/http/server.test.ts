import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestGateways, VIEWER_TOKEN } from '../../test/helpers/gateway.js';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

describe('framework errors', () => {
  const start = useTestGateways('sqlite');

  it('answers a URL the router cannot take as a 4xx problem, not as Fastify JSON', async () => {
    const { app } = await start();
    const cases: Array<[string, string, number, string]> = [
      ['GET', '/v1/actions/%ff', 400, 'bad-url'],
      ['GET', '/v1/actions/%E2%82', 400, 'bad-url'],
      ['POST', '/hooks/%ZZ', 400, 'bad-url'],
      // Path params take what target ids may be (500 characters), and no more.
      ['GET', `/v1/actions/${'a'.repeat(501)}`, 414, 'url-too-long'],
    ];
    for (const [method, url, status, code] of cases) {
      const answer = await app.inject({ method: method as 'GET' | 'POST', url });
      expect(answer.statusCode, url).toBe(status);
      expect(answer.headers['content-type'], url).toBe(PROBLEM_CONTENT_TYPE);
      expect(answer.json(), url).toMatchObject({
        type: `urn:airlock:problem:${code}`,
        status,
        instance: url,
        requestId: expect.any(String),
      });
    }
  });
});

describe('a client that sends a request slowly', () => {
  const start = useTestGateways('sqlite');

  it('gets 408 problem+json and a closed connection once server.requestTimeout has passed', async () => {
    const { app } = await start({ server: { requestTimeout: '1s' } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    const sent = Date.now();
    // The headers promise 100 bytes of body; one comes, and then nothing.
    socket.write(
      'POST /hooks/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{',
    );
    const closedAt = await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toContain('Content-Type: application/problem+json');
    expect(JSON.parse(body)).toMatchObject({
      type: 'urn:airlock:problem:request-timeout',
      status: 408,
    });
    expect(closedAt - sent).toBeGreaterThanOrEqual(1_000);
    expect(closedAt - sent).toBeLessThan(5_000);
  });
});

describe('server.trustProxy as the proxies’ addresses', () => {
  const start = useTestGateways('sqlite');

  it('takes the client address the proxy saw, and ignores what a direct client writes', async () => {
    // Requests injected here come from 127.0.0.1 unless told otherwise: that is the proxy.
    const { app } = await start({ server: { trustProxy: '127.0.0.1/32, loopback' } });
    const approvals = (token: string, forwardedFor: string, remoteAddress = '127.0.0.1') =>
      app.inject({
        method: 'GET',
        url: '/v1/approvals',
        remoteAddress,
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': forwardedFor },
      });
    // Twenty guesses through the proxy, each naming another address of its own before it.
    for (let guess = 0; guess < 20; guess += 1) {
      const answer = await approvals(`guess-${guess}`, `10.9.9.${guess}, 203.0.113.9`);
      expect(answer.statusCode).toBe(401);
    }
    expect((await approvals(VIEWER_TOKEN, '10.9.9.99, 203.0.113.9')).statusCode).toBe(429);
    expect((await approvals(VIEWER_TOKEN, '203.0.113.10')).statusCode).toBe(200);
    // A client that reaches the gateway itself is its socket's address, whatever it writes.
    for (let guess = 0; guess < 20; guess += 1) {
      const answer = await approvals(`guess-${guess}`, `10.8.8.${guess}`, '198.51.100.7');
      expect(answer.statusCode).toBe(401);
    }
    expect((await approvals(VIEWER_TOKEN, '10.8.8.99', '198.51.100.7')).statusCode).toBe(429);
  });
});
