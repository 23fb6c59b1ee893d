import { util, type Dispatcher } from 'undici';

/**
 * Sending a call to its vendor through undici's dispatcher, and reading the answer as it comes
 * (docs/performance.md: undici's `request()` cost more per call than the rest of the forward).
 */

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

  /**
   * The next chunk if one has arrived; `null` once the body has ended; `undefined` when nothing
   * is here yet (then `wait()`). Throws the body's failure once the chunks before it are read.
   * A short answer has usually arrived whole by the time the headers are handled, so it is read
   * without a promise per chunk.
   */
  read(): Buffer | null | undefined {
    const chunk = this.chunks.shift();
    if (chunk) {
      this.bytes -= chunk.length;
      if (this.paused && this.bytes < HIGH_WATER) {
        this.paused = false;
        this.resume();
      }
      return chunk;
    }
    if (this.failed) throw this.failed;
    return this.ended ? null : undefined;
  }

  /** Resolves when `read()` has something new to give. */
  wait(): Promise<void> {
    return new Promise<void>((r) => (this.wake = r));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    for (;;) {
      const chunk = this.read();
      if (chunk === null) return;
      if (chunk === undefined) await this.wait();
      else yield chunk;
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
