import { afterEach, describe, expect, it } from 'vitest';
import { HttpClient, HttpError } from '../../src/core/http.js';
import { Deadline, withDeadline } from '../../src/core/deadline.js';
import { startServer, json, type TestServer } from '../helpers/server.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const client = (url: string, extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {}) =>
  new HttpClient({
    baseUrl: url,
    name: 'the test API',
    retries: 2,
    timeouts: { connectMs: 500, headersMs: 300, bodyMs: 300 },
    ...extra,
  });

async function failure(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return err as HttpError;
  }
  throw new Error('expected the request to fail');
}

describe('HttpClient', () => {
  it('sends JSON and returns the parsed body', async () => {
    server = await startServer((req, res) => json(res, 200, { got: JSON.parse(req.body), path: req.url }));
    const res = await client(server.url).post('/v1/things', { json: { a: 1 }, query: { x: 'y', skip: undefined } });
    expect(res.body).toEqual({ got: { a: 1 }, path: '/v1/things?x=y' });
  });

  it('turns a load balancer HTML 502 into a clear error naming the endpoint', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
    });
    const err = await failure(client(server.url, { retries: 0 }).get('/v1/health'));
    expect(err.message).toMatch(
      /the test API \(GET http:\/\/127\.0\.0\.1:\d+\/v1\/health\): HTTP 502 with an HTML page instead of JSON/,
    );
    expect(err.exitCode).toBe(1);
  });

  it('reports truncated JSON', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data": [{"id": "vk_1"');
    });
    const err = await failure(client(server.url, { retries: 0 }).get('/v1/vault-keys'));
    expect(err.message).toMatch(/body is not valid JSON \(\d+ bytes, looks truncated\)/);
  });

  it('reports a 200 of the wrong shape', async () => {
    server = await startServer((_req, res) => json(res, 200, { items: [] }));
    const err = await failure(
      client(server.url).get('/v1/vault-keys', {
        expect: (b) => (Array.isArray((b as { data?: unknown } | undefined)?.data) ? undefined : 'no "data" array'),
      }),
    );
    expect(err.message).toMatch(/unexpected answer: no "data" array/);
    expect(server.requests).toHaveLength(1);
  });

  it('times out waiting for headers, and does not retry a request that timed out', async () => {
    server = await startServer(() => {
      /* never answers */
    });
    const err = await failure(client(server.url, { retries: 2 }).get('/slow'));
    expect(err.message).toMatch(/no response within 0.3 s/);
    expect(server.requests).toHaveLength(1);
  });

  it('ends a slow drip at the total deadline, though no idle timeout ever trips', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{');
      const t = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(t));
    });
    const err = await failure(
      client(server.url, { timeouts: { connectMs: 500, headersMs: 300, bodyMs: 300, totalMs: 600 } }).get('/v1/rates'),
    );
    expect(err.message).toMatch(/\(GET http:\/\/127\.0\.0\.1:\d+\/v1\/rates\): no complete answer within 600 ms/);
    expect(err.data).toMatchObject({ timeout: true });
    expect(server.requests).toHaveLength(1);
  });

  it("ends a call at the command's deadline and says which limit it was", async () => {
    server = await startServer(() => {});
    const deadline = new Deadline(400, '--deadline');
    const err = await failure(
      withDeadline(deadline, () =>
        client(server!.url, { timeouts: { connectMs: 5000, headersMs: 5000, bodyMs: 5000, totalMs: 5000 } }).get(
          '/v1/health',
        ),
      ),
    );
    expect(err.message).toMatch(
      /\(GET http:\/\/127\.0\.0\.1:\d+\/v1\/health\): the command's deadline of 400 ms \(--deadline\) passed while waiting for it/,
    );
    deadline.dispose();
  });

  it('never follows a redirect (the credentials stay with the configured address)', async () => {
    const elsewhere = await startServer((_req, res) => json(res, 200, {}));
    server = await startServer((_req, res) => {
      res.writeHead(307, { location: `${elsewhere.url}/v1/health` });
      res.end();
    });
    const err = await failure(
      client(server.url, { headers: { authorization: 'Bearer admin-token-1234567' } }).get('/v1/health'),
    );
    expect(err.message).toMatch(/redirected \(HTTP 307\) to http:\/\/127\.0\.0\.1:\d+\/v1\/health; not followed/);
    expect(elsewhere.requests).toHaveLength(0);
    await elsewhere.close();
  });

  it('honours Retry-After on a 503 and then succeeds', async () => {
    server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, { error: 'busy' }, { 'retry-after': '0' }) : json(res, 200, { ok: true }),
    );
    expect((await client(server.url).get('/v1/health')).body).toEqual({ ok: true });
    expect(server.requests).toHaveLength(2);
  });

  it('never retries a POST without an idempotency key', async () => {
    server = await startServer((_req, res) => json(res, 503, { error: { message: 'down' } }));
    const err = await failure(client(server.url).post('/v1/vault-keys', { json: {} }));
    expect(err.message).toMatch(/HTTP 503: down/);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a creating POST with the same idempotency key', async () => {
    server = await startServer((_req, res, n) => (n < 3 ? json(res, 502, {}) : json(res, 201, { id: 'x' })));
    await client(server.url).post('/v1/vault-keys', { json: {}, idempotencyKey: true });
    const keys = server.requests.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("maps 401 to exit 3 and 404 to exit 4, with the body's message", async () => {
    server = await startServer((req, res) =>
      req.url === '/a'
        ? json(res, 401, { error: { code: 'unauthorized', message: 'bad token' } })
        : json(res, 404, { error: { message: 'no such key' } }),
    );
    const auth = await failure(client(server.url).get('/a'));
    expect(auth.exitCode).toBe(3);
    expect(auth.message).toMatch(/refused our credentials \(HTTP 401\): unauthorized: bad token/);
    expect((await failure(client(server.url).get('/b'))).exitCode).toBe(4);
  });

  it('treats accepted statuses as answers', async () => {
    server = await startServer((_req, res) => json(res, 404, { error: 'gone' }));
    expect((await client(server.url).delete('/v1/keys/1', { accept: [404] })).status).toBe(404);
  });

  it('reports a refused connection plainly', async () => {
    server = await startServer(() => {});
    const url = server.url;
    await server.close();
    server = undefined;
    const err = await failure(client(url, { retries: 0 }).get('/'));
    expect(err.message).toMatch(/connection refused/);
    expect(err.hint).toMatch(/is the service running/);
  });

  it('traces requests with secret headers redacted', async () => {
    server = await startServer((_req, res) => json(res, 200, {}));
    const lines: string[] = [];
    await client(server.url, {
      headers: { authorization: 'Bearer sk_live_supersecretvalue1234' },
      trace: (l) => lines.push(l),
    }).get('/x');
    expect(lines.join('\n')).toContain('authorization: [redacted]');
    expect(lines.join('\n')).not.toContain('supersecret');
  });
});
