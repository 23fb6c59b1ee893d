import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { util, type Dispatcher } from 'undici';
import type { VendorSpec } from './vendors.js';
import { upstreamAuthHeader } from './vendors.js';
import type { Metering } from '../vendors/shared/meter.js';

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

export interface UpstreamTimeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

/** Where a vendor's base URL points: its origin, and a path prefix (an override may carry one). Parsed once. */
const bases = new Map<string, { origin: string; prefix: string }>();
function baseOf(baseUrl: string): { origin: string; prefix: string } {
  let b = bases.get(baseUrl);
  if (!b) {
    const u = new URL(baseUrl);
    bases.set(baseUrl, (b = { origin: u.origin, prefix: u.pathname.replace(/\/+$/, '') }));
  }
  return b;
}

/** Unread body bytes held before the vendor's socket is paused (backpressure). */
const HIGH_WATER = 64 * 1024;

/**
 * A vendor's answer body as it arrives, straight from undici's dispatcher: chunks queued
 * (pausing the socket past HIGH_WATER) and read with `for await`. Lighter than undici's
 * `request()`, whose stream, abort-signal plumbing and async scope cost more per call than
 * the rest of the forward (see docs/performance.md).
 */
export class UpstreamBody implements AsyncIterable<Buffer> {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private failed: Error | null = null;
  private wake: (() => void) | null = null;
  private paused = false;
  /** undici's resume, given with the headers. */
  resume: () => void = () => {};

  /** From the dispatcher: false asks it to pause the socket. */
  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    this.signal();
    return !(this.paused = this.bytes >= HIGH_WATER);
  }

  end(err?: Error): void {
    if (err) this.failed = err;
    this.ended = true;
    this.signal();
  }

  private signal(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.bytes -= chunk.length;
        if (this.paused && this.bytes < HIGH_WATER) {
          this.paused = false;
          this.resume();
        }
        yield chunk;
      } else if (this.failed) throw this.failed;
      else if (this.ended) return;
      else await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** The whole body (error answers, which are read whole and scrubbed). */
  async all(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of this) parts.push(c);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

export interface UpstreamResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: UpstreamBody;
}

/** Cuts a forwarded call (hard revoke, agent gone): before the vendor answered or while its body streams. */
export class CallAbort {
  reason: Error | null = null;
  private hook: ((err: Error) => void) | null = null;

  abort(err: Error): void {
    if (this.reason) return;
    this.reason = err;
    this.hook?.(err);
  }

  get aborted(): boolean {
    return this.reason !== null;
  }

  /** The dispatcher's abort, once connected; called at once if the call was already cut. */
  bind(hook: (err: Error) => void): void {
    this.hook = hook;
    if (this.reason) hook(this.reason);
  }
}

/** Send the call to the vendor; resolves at the answer's headers, its body read from `body`. */
export function sendUpstream(
  dispatcher: Dispatcher,
  url: { base: string; path: string },
  method: string,
  headers: Record<string, string>,
  body: Buffer,
  cut: CallAbort,
  t: UpstreamTimeouts,
): Promise<UpstreamResponse> {
  const { origin, prefix } = baseOf(url.base);
  return new Promise((resolve, reject) => {
    const answer = new UpstreamBody();
    let started = false;
    const handler: Dispatcher.DispatchHandler = {
      onConnect: (abort) => cut.bind(abort),
      onHeaders: (statusCode, raw, resume) => {
        if (statusCode < 200) return true; // 1xx: informational, the answer follows
        answer.resume = resume;
        started = true;
        resolve({ statusCode, headers: util.parseHeaders(raw), body: answer });
        return true;
      },
      onData: (chunk) => answer.push(chunk),
      onComplete: () => answer.end(),
      onError: (err) => (started ? answer.end(err) : reject(err)),
    };
    dispatcher.dispatch(
      {
        origin,
        path: prefix + url.path,
        method,
        headers,
        body: body.length || !['GET', 'HEAD'].includes(method) ? body : null,
        headersTimeout: t.headersMs,
        bodyTimeout: t.bodyMs,
      },
      handler,
    );
  });
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

/** Write one chunk, waiting for the socket to drain when the agent reads slower than the vendor sends. */
export async function writeChunk(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (res.write(chunk)) return;
  await new Promise<void>((resolve) => {
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
  const take = async (chunk: Buffer) => {
    if (chunk.length === 0) return;
    if (!streaming) {
      kept.push(chunk);
      keptBytes += chunk.length;
      if (keptBytes > KEEP_BYTES) {
        await startStreaming();
        truncated = true;
        kept.length = 0;
        keptBytes = 0;
      }
      return;
    }
    if (sse && !meter.tap) {
      // The usage event of a stream is at its end: keep a moving tail.
      kept.push(chunk);
      keptBytes += chunk.length;
      while (keptBytes > KEEP_BYTES && kept.length > 1) keptBytes -= kept.shift()!.length;
    }
    await writeChunk(res, chunk);
  };
  if (sse) await startStreaming();
  for await (const chunk of up.body) await take(meter.tap ? meter.tap(chunk) : chunk);
  if (meter.flush) await take(meter.flush());
  return { whole: Buffer.concat(kept), truncated, streaming };
}
