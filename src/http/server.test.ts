import { describe, expect, it } from 'vitest';
import { useTestGateways } from '../../test/helpers/gateway.js';
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
