import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ApiError } from './validate.js';

export const ADMIN_MAX_BODY = 64 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const error: Record<string, string> = { ...(err.extra?.type ? { type: err.extra.type } : {}), code: err.code, message: err.message };
  if (err.field) error.field = err.field;
  sendJson(res, err.status, { error, ...err.extra?.body }, err.extra?.headers);
}

/** The JSON body, or a 400/413 naming what is wrong. An empty body is `{}`. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > ADMIN_MAX_BODY) throw new ApiError(413, 'request_too_large', `request body over ${ADMIN_MAX_BODY} bytes`);
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ApiError(400, 'invalid_json', `the request body is not valid JSON: ${(err as Error).message}`, 'body');
  }
}

/** Constant-time: compare digests, so neither length nor content leaks through timing. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

export type Handler = (ctx: { req: IncomingMessage; url: URL; params: string[] }) => Promise<[number, unknown]>;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

export function route(method: string, path: string, handler: Handler): Route {
  const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);
  return { method, pattern, handler };
}
