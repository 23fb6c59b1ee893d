import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './validate.js';

export const ADMIN_MAX_BODY = 64 * 1024;

/** A body that is not JSON (the Prometheus text format of `/metrics`). */
export class RawBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
  ) {}
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (body instanceof RawBody) {
    res.writeHead(status, {
      'content-type': body.contentType,
      'content-length': Buffer.byteLength(body.text),
      'cache-control': 'no-store',
      ...headers,
    });
    return void res.end(body.text);
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const error: Record<string, unknown> = {
    ...(err.extra?.type ? { type: err.extra.type } : {}),
    code: err.code,
    message: err.message,
  };
  if (err.field) error.field = err.field;
  // Extra machine-readable facts of some errors (`required_scope` of insufficient_scope).
  Object.assign(error, (err as { details?: Record<string, unknown> }).details);
  sendJson(res, err.status, { error, ...err.extra?.body }, err.extra?.headers);
}

/** The JSON body, or a 400/413 naming what is wrong. An empty body is `{}`. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > ADMIN_MAX_BODY)
      throw new ApiError(413, 'request_too_large', `request body over ${ADMIN_MAX_BODY} bytes`);
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

export function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m ? m[1]! : null;
}

export interface HandlerCtx {
  req: IncomingMessage;
  url: URL;
  params: string[];
  /** The admin token's name and scope (for answers that say who did something). */
  caller: { name: string; scope: string };
}

/**
 * A route's answer. Synchronous when it only reads this instance's memory; the router awaits
 * either inside one try, so a throw and a rejection are the same error answer.
 */
export type Handler = (ctx: HandlerCtx) => [number, unknown] | Promise<[number, unknown]>;

export interface Route {
  method: string;
  /** As written (`/v1/vault-keys/{id}`): what the scope table (scopes.ts) names. */
  path: string;
  pattern: RegExp;
  handler: Handler;
}

export function route(method: string, path: string, handler: Handler): Route {
  const pattern = new RegExp(`^${path.replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);
  return { method, path, pattern, handler };
}
