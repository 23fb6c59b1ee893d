import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { HttpClient, HttpClientOptions, HttpRequest, HttpResponse } from '../../core/http.js';
import { currentDeadline } from '../../core/deadline.js';
import { HttpError, attemptSignal, interpretAnswer, timeoutError } from '../../core/http-answer.js';

/**
 * The shared HttpClient, loaded on first use. Loading undici costs more than a hundred
 * milliseconds of a cold start; the revoke path is measured from process start, so adapters
 * import it only when they first talk HTTP (and `quickDelete` below does not wait for it).
 */
export interface LazyHttp {
  request<T = any>(req: HttpRequest): Promise<HttpResponse<T>>;
  get<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  post<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  delete<T = any>(path: string, extra?: Omit<HttpRequest, 'method' | 'path'>): Promise<HttpResponse<T>>;
  /** Start loading the client now, without waiting. */
  warm(): void;
}

export function lazyHttp(opts: HttpClientOptions): LazyHttp {
  let client: Promise<HttpClient> | undefined;
  const load = () => (client ??= import('../../core/http.js').then((m) => new m.HttpClient(opts)));
  const request = async <T>(req: HttpRequest) => (await load()).request<T>(req);
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
export interface QuickOptions {
  name: string;
  /** Total deadline of one attempt, from sending to the last byte. */
  timeoutMs: number;
  accept: number[];
  expect?: (body: any, status: number) => string | undefined;
  trace?: (l: string) => void;
}

export interface QuickAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** GET or DELETE (both idempotent) on node:http; see above. */
export async function quickRequest(
  method: 'GET' | 'DELETE',
  url: string,
  headers: Record<string, string>,
  o: QuickOptions,
): Promise<QuickAnswer> {
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
    const read = interpretAnswer(
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
        res.on('error', (e) => reject(signal.aborted ? signal.reason : e));
      },
    );
    // An abort rejects with the signal's reason, so the caller can tell whose deadline it was.
    req.on('error', (e) => reject(signal.aborted ? signal.reason : e));
    req.end();
  });
}
