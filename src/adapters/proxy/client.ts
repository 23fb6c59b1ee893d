import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AnswerCheck, HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from '../../core/http.js';
import { currentDeadline } from '../../core/deadline.js';
import { HttpError, attemptSignal, interpretAnswer, timeoutError } from '../../core/http-answer.js';

/**
 * The shared HttpClient, loaded on first use. Loading undici costs more than a hundred
 * milliseconds of a cold start; the revoke path is measured from process start, so adapters
 * import it only when they first talk HTTP (and `quickDelete` below does not wait for it).
 */
export interface LazyHttp {
  request<T = unknown>(req: HttpRequest<T>): Promise<HttpResponse<T>>;
  get<T = unknown>(path: string, extra?: Omit<HttpRequest<T>, 'method' | 'path'>): Promise<HttpResponse<T>>;
  post<T = unknown>(path: string, extra?: Omit<HttpRequest<T>, 'method' | 'path'>): Promise<HttpResponse<T>>;
  delete<T = unknown>(path: string, extra?: Omit<HttpRequest<T>, 'method' | 'path'>): Promise<HttpResponse<T>>;
  /** Start loading the client now, without waiting. */
  warm(): void;
}

export function lazyHttp(opts: HttpClientOptions): LazyHttp {
  let client: Promise<HttpClient> | undefined;
  const load = () => (client ??= import('../../core/http.js').then((m) => new m.HttpClient(opts)));
  const request = async <T>(req: HttpRequest<T>) => (await load()).request<T>(req);
  return {
    request,
    get: (path, extra = {}) => request({ ...extra, method: 'GET', path }),
    post: (path, extra = {}) => request({ ...extra, method: 'POST', path }),
    delete: (path, extra = {}) => request({ ...extra, method: 'DELETE', path }),
    warm: () => void load().catch(() => undefined),
  };
}

/**
 * One idempotent call on node:http, for the `revoke` path only (the DELETE, then the per-instance
 * verdicts): the call that stops the agent, and the proof that it stopped, should not wait for an
 * HTTP library to load. Answers are read exactly as HttpClient reads them (core/http-answer.ts):
 * the same errors, the same shape check, the same total deadline per attempt within the
 * command's. One retry on a connection error (GET and DELETE are idempotent); none on a timeout.
 */
export interface QuickOptions<T = unknown> {
  name: string;
  /** Total deadline of one attempt, from sending to the last byte. */
  timeoutMs: number;
  accept: number[];
  expect?: AnswerCheck<T>;
  trace?: (l: string) => void;
}

export interface QuickAnswer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** GET or DELETE (both idempotent) on node:http; see above. */
export async function quickRequest<T = unknown>(
  method: 'GET' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  o: QuickOptions<T>,
): Promise<QuickAnswer<T>> {
  const endpoint = `${method} ${url.replace(/\?.*$/, '')}`;
  o.trace?.(`→ ${endpoint} (authorization: [redacted])`);
  for (let attempt = 1; ; attempt++) {
    const deadline = currentDeadline();
    const cut = attemptSignal(o.timeoutMs, deadline);
    let raw: { status: number; headers: QuickAnswer['headers']; text: string };
    try {
      if (deadline?.expired) throw deadline.signal.reason;
      raw = await once(method, url, headers, cut.signal);
    } catch (err) {
      const timedOut = timeoutError(o.name, endpoint, err, deadline);
      if (timedOut) throw timedOut;
      if (attempt < 2) continue;
      const code = (err as NodeJS.ErrnoException).code;
      const detail =
        code === 'ECONNREFUSED'
          ? 'connection refused'
          : code === 'ECONNRESET'
            ? 'connection reset'
            : (err as Error).message;
      throw new HttpError(
        'step-failed',
        `${o.name} (${endpoint}): ${detail}`,
        endpoint,
        undefined,
        'is the proxy admin API running at that address?',
      );
    } finally {
      cut.dispose();
    }
    o.trace?.(`← ${raw.status} ${endpoint}`);
    const read = interpretAnswer<T>(
      o.name,
      endpoint,
      { method, accept: o.accept, expect: o.expect },
      raw.status,
      raw.headers,
      raw.text,
    );
    if ('error' in read) throw read.error;
    return read.response;
  }
}

function once(
  method: string,
  url: string,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<{ status: number; headers: QuickAnswer['headers']; text: string }> {
  // Our signals abort with an Error naming whose deadline it was (AttemptTimeout, DeadlineExpired).
  const cause = (e: Error): Error =>
    !signal.aborted ? e : signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method, headers: { accept: 'application/json', 'user-agent': 'tourniquet', ...headers }, signal },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', (e) => reject(cause(e)));
      },
    );
    // An abort rejects with the signal's reason, so the caller can tell whose deadline it was.
    req.on('error', (e) => reject(cause(e)));
    req.end();
  });
}
