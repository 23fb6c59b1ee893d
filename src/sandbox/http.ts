import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Small HTTP plumbing the sandbox vendors share. */
export interface SandboxRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  rawBody: Buffer;
  params: string[];
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | 'stream-handled';
export type SandboxHandler = (req: SandboxRequest, res: ServerResponse) => Promise<Reply> | Reply;

export interface SandboxRoute {
  method: string;
  re: RegExp;
  handler: SandboxHandler;
}

export function sroute(method: string, path: string, handler: SandboxHandler): SandboxRoute {
  return { method, re: new RegExp(`^${path.replace(/\{[a-z_]+\}/gi, '([^/]+)')}$`), handler };
}

export function parseRequestBody(contentType: string, raw: Buffer): Record<string, unknown> | null {
  const text = raw.toString('utf8');
  if (text.trim() === '') return {};
  if (contentType.includes('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    return out;
  }
  try {
    const v = JSON.parse(text) as unknown;
    // A JSON array (Resend's batch) is valid: its route reads rawBody.
    return v && typeof v === 'object' ? (Array.isArray(v) ? {} : (v as Record<string, unknown>)) : null;
  } catch {
    return null;
  }
}

export function basicAuth(headers: IncomingMessage['headers']): { user: string; pass: string } | null {
  const m = /^Basic\s+(\S+)$/i.exec(headers.authorization ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return { user: i < 0 ? decoded : decoded.slice(0, i), pass: i < 0 ? '' : decoded.slice(i + 1) };
}

export function bearerAuth(headers: IncomingMessage['headers']): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
  return m ? m[1]! : null;
}

/**
 * Faults a test injects into a running fake (set the fields at any time): calls matching `match`
 * (`POST /path`) are answered `delayMs` late, and the next `failAfterActing` of them act and then
 * answer 500, as a vendor that created a key but lost the answer would. `matched` counts the calls
 * that reached the fake and matched, so a test knows whether a killed client's call got there.
 */
export interface SandboxFaults {
  match: RegExp | null;
  delayMs: number;
  failAfterActing: number;
  matched?: number;
}

export const noFaults = (): SandboxFaults => ({ match: null, delayMs: 0, failAfterActing: 0 });

export interface ServeOptions {
  /** Added before every answer: a vendor is never instant. */
  latencyMs?: number;
  faults?: SandboxFaults;
  notFound: (req: SandboxRequest) => Reply;
  badBody: (req: SandboxRequest) => Reply;
}

export async function serveRoutes(
  routes: SandboxRoute[],
  opts: ServeOptions,
): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
        const raw = Buffer.concat(chunks);
        const parsed = parseRequestBody(String(req.headers['content-type'] ?? ''), raw);
        const sreq: SandboxRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          headers: req.headers,
          body: parsed ?? {},
          rawBody: raw,
          params: [],
        };
        if (opts.latencyMs) await new Promise((r) => setTimeout(r, opts.latencyMs));
        let reply: Reply = opts.notFound(sreq);
        if (parsed === null) reply = opts.badBody(sreq);
        else
          for (const r of routes) {
            const m = r.re.exec(url.pathname);
            if (!m || r.method !== sreq.method) continue;
            sreq.params = m.slice(1).map(decodeURIComponent);
            reply = await withFaults(opts.faults, sreq, () => r.handler(sreq, res));
            break;
          }
        if (reply === 'stream-handled') return;
        const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          ...(text ? { 'content-type': 'application/json' } : {}),
          'content-length': Buffer.byteLength(text),
          ...reply.headers,
        });
        res.end(text);
      })().catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `sandbox bug: ${String(err)}` } }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const a = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${a.port}` };
}

async function withFaults(
  f: SandboxFaults | undefined,
  req: SandboxRequest,
  handle: () => Promise<Reply> | Reply,
): Promise<Reply> {
  if (!f?.match || !f.match.test(`${req.method} ${req.path}`)) return handle();
  f.matched = (f.matched ?? 0) + 1;
  if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
  const reply = await handle();
  if (f.failAfterActing <= 0 || reply === 'stream-handled') return reply;
  f.failAfterActing--;
  return {
    status: 500,
    body: { error: { message: 'sandbox: the vendor acted, then failed to answer (injected fault)' } },
  };
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export const nowSec = () => Math.floor(Date.now() / 1000);
