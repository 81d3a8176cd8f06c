import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { postSignedOnce } from '../notify/signed-post.js';
import { forbiddenAddress, outboundAgent, SSRF_REFUSED, urlProblem } from './index.js';

const SECRET = `whsec_${Buffer.from('ssrf-test-secret').toString('base64')}`;

describe('forbiddenAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['0.0.0.0', 'unspecified'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.100.100.200', 'metadata'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::c0a8:101', 'private'],
    ['example.com', 'not an IP address'],
  ])('refuses %s as %s', (ip, reason) => {
    expect(forbiddenAddress(ip)).toBe(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '2606:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('lets %s through', (ip) => {
    expect(forbiddenAddress(ip)).toBeNull();
  });
});

describe('urlProblem', () => {
  const hint = 'set deliver.allowPrivateNetwork: true for development';
  it.each([
    ['http://127.0.0.1:9000/x', 'loopback'],
    ['http://2130706433/x', 'loopback'],
    ['http://[::1]/x', 'loopback'],
    ['http://[::ffff:169.254.169.254]/latest', 'metadata'],
    ['http://169.254.169.254/latest/meta-data', 'metadata'],
    ['https://10.0.0.5/hook', 'private'],
    ['http://localhost:3000/x', 'localhost'],
    ['http://agent.localhost./x', 'agent.localhost'],
  ])('refuses %s naming %s and the fix', (url, word) => {
    const problem = urlProblem(url, false);
    expect(problem).toContain(word);
    expect(problem).toContain(hint);
    expect(urlProblem(url, true)).toBeNull();
  });

  it('refuses credentials in the URL, allowed or not', () => {
    expect(urlProblem('https://user:pw@agent.example.com/x', false)).toContain('credentials');
    expect(urlProblem('https://user@agent.example.com/x', true)).toContain('credentials');
  });

  it('leaves public addresses and DNS names to the run-time check', () => {
    expect(urlProblem('https://agent.example.com/hook', false)).toBeNull();
    expect(urlProblem('https://8.8.8.8/hook', false)).toBeNull();
    expect(urlProblem('https://[2606:4700::1111]/hook', false)).toBeNull();
  });
});

describe('outboundAgent', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  /** A loopback server counting the connections it accepts. */
  async function serve(handler: RequestListener) {
    const server = createServer(handler);
    servers.push(server);
    let connections = 0;
    server.on('connection', () => {
      connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    return { port, connections: () => connections };
  }

  async function refusalOf(url: string): Promise<{ code?: unknown; message: string }> {
    const dispatcher = outboundAgent({ allowPrivateNetwork: false });
    try {
      await request(url, { method: 'POST', body: '{}', dispatcher });
    } catch (error) {
      return error as { code?: unknown; message: string };
    }
    throw new Error(`expected ${url} to be refused`);
  }

  it('refuses a literal loopback IP before connecting', async () => {
    const server = await serve((_, response) => response.end('ok'));
    const error = await refusalOf(`http://127.0.0.1:${server.port}/hook`);
    expect(error.code).toBe(SSRF_REFUSED);
    expect(error.message).toContain('127.0.0.1');
    expect(error.message).toContain('loopback');
    expect(server.connections()).toBe(0);
  });

  it('refuses a name that resolves to loopback', async () => {
    const server = await serve((_, response) => response.end('ok'));
    const error = await refusalOf(`http://localhost:${server.port}/hook`);
    expect(error.code).toBe(SSRF_REFUSED);
    expect(error.message).toContain('localhost');
    expect(error.message).toContain('loopback');
    expect(server.connections()).toBe(0);
  });

  it('connects when private networks are allowed', async () => {
    const server = await serve((_, response) => response.end('ok'));
    const dispatcher = outboundAgent({ allowPrivateNetwork: true });
    const response = await request(`http://127.0.0.1:${server.port}/hook`, { dispatcher });
    expect(response.statusCode).toBe(200);
    expect(await response.body.text()).toBe('ok');
    expect(outboundAgent({ allowPrivateNetwork: true })).toBe(dispatcher);
  });

  it('does not follow a redirect: postSignedOnce reports the 302', async () => {
    const target = await serve((_, response) => response.end('ok'));
    const redirecting = await serve((_, response) => {
      response.writeHead(302, { location: `http://127.0.0.1:${target.port}/elsewhere` });
      response.end();
    });
    const message = {
      url: `http://127.0.0.1:${redirecting.port}/hook`,
      secret: SECRET,
      id: 'msg_1',
      body: '{}',
      allowPrivateNetwork: true,
    };
    const outcome = await postSignedOnce(message, { timeoutMs: 2_000 });
    expect(outcome).toEqual({ status: 302, retryAfterMs: null });
    expect(target.connections()).toBe(0);
  });

  it('has postSignedOnce report a refusal as ssrf, and Retry-After in milliseconds', async () => {
    const server = await serve((_, response) => {
      response.writeHead(503, { 'retry-after': '7' });
      response.end();
    });
    const message = {
      url: `http://127.0.0.1:${server.port}/hook`,
      secret: SECRET,
      id: 'msg_2',
      body: '{}',
      allowPrivateNetwork: false,
    };
    const refused = await postSignedOnce(message, { timeoutMs: 2_000 });
    expect(refused).toMatchObject({ ssrf: true });
    expect(server.connections()).toBe(0);
    const answered = await postSignedOnce(
      { ...message, allowPrivateNetwork: true },
      { timeoutMs: 2_000 },
    );
    expect(answered).toEqual({ status: 503, retryAfterMs: 7_000 });
  });
});
