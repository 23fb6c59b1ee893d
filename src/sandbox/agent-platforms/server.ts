import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isRecord } from '../../core/json.js';

/**
 * A tiny loopback JSON server for the agent-platform fakes. Every request is recorded; a request
 * no route answers is recorded as unexpected (tests fail on it) and gets a 500.
 */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface Reply {
  status: number;
  json?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  pattern: RegExp;
  handle: (req: Recorded, params: string[], url: URL) => Reply | Promise<Reply>;
}

export interface FakeServer {
  url: string;
  /** The next `count` requests with this method get a load balancer's HTML 502 (a flaky gateway). */
  flaky: { method?: string; count: number };
  requests: Recorded[];
  unexpected: Recorded[];
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, reply: Reply): void {
  const body = reply.json === undefined ? '' : JSON.stringify(reply.json);
  res.writeHead(reply.status, { ...(body ? { 'content-type': 'application/json' } : {}), ...reply.headers });
  res.end(body);
}

export async function startFakeServer(routes: Route[], port = 0): Promise<FakeServer> {
  const requests: Recorded[] = [];
  const unexpected: Recorded[] = [];
  const flaky: FakeServer['flaky'] = { count: 0 };
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const rec: Recorded = {
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers: req.headers,
      body: await readBody(req),
    };
    requests.push(rec);
    if (flaky.count > 0 && (!flaky.method || flaky.method === rec.method)) {
      flaky.count--;
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    for (const route of routes) {
      const m = route.method === rec.method ? route.pattern.exec(url.pathname) : null;
      if (m) {
        try {
          return send(res, await route.handle(rec, m.slice(1).map(decodeURIComponent), url));
        } catch (err) {
          return send(res, { status: 500, json: { error: 'server_error', error_description: String(err) } });
        }
      }
    }
    unexpected.push(rec);
    send(res, { status: 500, json: { error: 'unexpected_request', error_description: `${rec.method} ${rec.path}` } });
  };
  // A client that goes away mid-body is no test's business: drop that socket, keep serving.
  const server: Server = createServer((req, res) => void answer(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    unexpected,
    flaky,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function bearer(req: Recorded): string | undefined {
  const h = req.headers.authorization;
  const v = Array.isArray(h) ? h[0] : h;
  return v?.startsWith('Bearer ') ? v.slice(7) : undefined;
}

/** The request's JSON object; anything else (not JSON, an array, a bare value) is not a body these APIs take. */
export function parseJson(req: Recorded): { ok: true; value: Record<string, unknown> } | { ok: false } {
  try {
    const value: unknown = JSON.parse(req.body);
    return isRecord(value) ? { ok: true, value } : { ok: false };
  } catch {
    return { ok: false };
  }
}
