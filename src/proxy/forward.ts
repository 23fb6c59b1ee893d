import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { VendorSpec } from './vendors.js';
import { upstreamAuthHeader } from './vendors.js';
import type { Metering } from '../vendors/shared/meter.js';
import type { UpstreamResponse } from './upstream.js';

export type { UpstreamTimeouts } from './upstream.js';

/** RFC 9110 §7.6.1 hop-by-hop headers, plus what the proxy sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

const NONE: ReadonlySet<string> = new Set();

function connectionListed(headers: IncomingHttpHeaders | Record<string, unknown>): ReadonlySet<string> {
  const c = headers.connection;
  // The usual values name no other header: skip the parse (it runs twice per call).
  if (c === undefined || c === 'keep-alive' || c === 'close') return NONE;
  const text = Array.isArray(c) ? c.join(',') : typeof c === 'string' ? c : '';
  return new Set(
    text
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** The request headers the vendor gets: no hop-by-hop, no vault key, the production key in its place. */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  spec: VendorSpec,
  secret: string,
  accountSid: string | null,
  vaultSecret: string,
): Record<string, string> {
  const listed = connectionListed(incoming);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    if (name === 'authorization' || name === 'content-length' || name === 'accept-encoding') continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    if (text.includes(vaultSecret)) continue; // never carry the vault key to the vendor
    out[name] = text;
  }
  // Identity, so cost parsers can read the body and error bodies can be scrubbed.
  out['accept-encoding'] = 'identity';
  const [h, v] = upstreamAuthHeader(spec, secret, accountSid);
  out[h] = v;
  return out;
}

/** The response headers the agent gets: no hop-by-hop, no secret in any value. */
export function downstreamHeaders(
  incoming: Record<string, string | string[] | undefined>,
  secrets: string[],
): OutgoingHttpHeaders {
  const listed = connectionListed(incoming);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name)) continue;
    out[name] = Array.isArray(value) ? value.map((v) => scrubText(v, secrets)) : scrubText(value, secrets);
  }
  return out;
}

export function scrubText(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s && out.includes(s)) out = out.split(s).join('[redacted by tourniquet]');
  return out;
}

export function scrubBuffer(buf: Buffer, secrets: string[]): Buffer {
  for (const s of secrets) if (s && buf.includes(s)) return Buffer.from(scrubText(buf.toString('utf8'), secrets));
  return buf;
}

/** Which upstream failure this is, for the agent's error and the status we answer with. */
export function upstreamFailure(err: unknown): { status: number; code: string; message: string } {
  const code = (err as { code?: string }).code ?? '';
  if (/TIMEOUT/.test(code))
    return { status: 504, code: 'upstream_timeout', message: `the vendor did not answer in time (${code})` };
  return {
    status: 502,
    code: 'upstream_unreachable',
    message: `the vendor could not be reached (${code || 'connection failed'})`,
  };
}

/**
 * Write one chunk; when the agent reads slower than the vendor sends, a promise that resolves
 * once the socket has drained (or closed). Nothing to wait for when the write was taken.
 */
export function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> | undefined {
  if (res.write(chunk)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Bodies we keep a copy of for cost parsing; longer ones stream through uncopied past this. */
export const KEEP_BYTES = 1 << 20;

export interface Relayed {
  /** What was kept for the cost parser: the whole body, or a stream's tail. */
  whole: Buffer;
  truncated: boolean;
  /** Headers and body already went out; only res.end() is left. Otherwise nothing was sent. */
  streaming: boolean;
}

/**
 * Read a success body. Small answers are held whole, so the caller sends them (status line
 * included) once the audit row is durable. Streams (SSE) and bodies over KEEP_BYTES go out as
 * they come, chunked, so the agent's answer is complete only at the final chunk, which the
 * caller sends (res.end()) after the row is durable. Every chunk passes the vendor's meter
 * (`tap`) first: it reads the usage as it goes, and may hold back what it asked the vendor to add.
 */
export async function relayBody(
  up: UpstreamResponse,
  res: ServerResponse,
  headers: OutgoingHttpHeaders,
  sse: boolean,
  meter: Pick<Metering, 'tap' | 'flush'> = {},
): Promise<Relayed> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let truncated = false;
  let streaming = false;
  const startStreaming = async () => {
    streaming = true;
    delete headers['content-length'];
    res.writeHead(up.statusCode, headers);
    for (const c of kept) await writeChunk(res, c);
  };
  const overflow = async () => {
    await startStreaming();
    truncated = true;
    kept.length = 0;
    keptBytes = 0;
  };
  /** Keep or send one chunk; a promise only when there is something to wait for. */
  const take = (chunk: Buffer): Promise<void> | undefined => {
    if (chunk.length === 0) return undefined;
    if (!streaming) {
      kept.push(chunk);
      keptBytes += chunk.length;
      return keptBytes > KEEP_BYTES ? overflow() : undefined;
    }
    if (sse && !meter.tap) {
      // The usage event of a stream is at its end: keep a moving tail.
      kept.push(chunk);
      keptBytes += chunk.length;
      while (keptBytes > KEEP_BYTES && kept.length > 1) keptBytes -= kept.shift()!.length;
    }
    return writeChunk(res, chunk);
  };
  if (sse) await startStreaming();
  for (;;) {
    const chunk = up.body.read();
    if (chunk === null) break;
    if (chunk === undefined) {
      await up.body.wait();
      continue;
    }
    const waiting = take(meter.tap ? meter.tap(chunk) : chunk);
    if (waiting) await waiting;
  }
  if (meter.flush) await take(meter.flush());
  return { whole: Buffer.concat(kept), truncated, streaming };
}
