import { Agent, errors as undiciErrors, request as undiciRequest, type Dispatcher } from 'undici';
import { randomUUID } from 'node:crypto';
import { currentDeadline, sleepWithin, type Deadline } from './deadline.js';
import { AttemptTimeout, HttpError, IDEMPOTENT, attemptSignal, interpretAnswer, timeoutError } from './http-answer.js';

export { HttpError, errorDetail, retryAfterMs } from './http-answer.js';

/**
 * The one HTTP client every adapter uses. Short timeouts, bounded retries with backoff that
 * honour Retry-After (only for idempotent requests, or POSTs carrying an idempotency key),
 * and one error for every way a response can be wrong: an HTML page from a load balancer,
 * truncated JSON, a timeout, a 200 of the wrong shape. Each names the endpoint.
 *
 * Every attempt has a total deadline (`totalMs`, from sending to the last byte), not only idle
 * timeouts: a server that drips a byte every second never trips an idle timeout. Every attempt
 * and every backoff also stays inside the command's ambient deadline (core/deadline.ts). A timed
 * out attempt is not retried: the server had its chance, and the operator is waiting.
 */
export interface Timeouts {
  connectMs: number;
  headersMs: number;
  /** Idle time between two chunks of the body. */
  bodyMs: number;
  /** The whole attempt, from sending the request to the last byte of the answer. */
  totalMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 3000, headersMs: 5000, bodyMs: 10000, totalMs: 10000 };

/** Per-call timeouts from one figure (the `timeout_ms` setting): every phase and the total within it. */
export function timeoutsWithin(ms: number): Timeouts {
  return { connectMs: ms, headersMs: ms, bodyMs: ms, totalMs: ms };
}

export interface HttpClientOptions {
  baseUrl: string;
  /** What this API is, for messages: "the proxy admin API", "Twilio". */
  name: string;
  headers?: Record<string, string>;
  timeouts?: Partial<Timeouts>;
  /** Extra attempts after the first, for requests that may be retried. */
  retries?: number;
  /** Called with one line per request and response (already redacted). */
  trace?: (line: string) => void;
  dispatcher?: Dispatcher;
}

/**
 * The shape check of an accepted answer (2xx, or a status in `accept`): what is wrong, or
 * undefined. `answer` is never set: it carries the type a passing check proves, so `request`
 * infers its result from the check (see adapters/proxy/schemas.ts `expectRoute`).
 */
export type AnswerCheck<T = unknown> = ((body: unknown, status: number) => string | undefined) & {
  readonly answer?: T;
};

export interface HttpRequest<T = unknown> {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** A JSON body. */
  json?: unknown;
  /** A form-encoded body (Stripe, Twilio, OAuth). */
  form?: Record<string, string | undefined>;
  headers?: Record<string, string>;
  /** POSTs that create things: `true` generates a key; the same key is sent on every retry. */
  idempotencyKey?: string | true;
  /** Statuses that are answers, not failures (e.g. 404 for "not found"). */
  accept?: number[];
  /** Shape check of an accepted answer (2xx, or a status in `accept`): what is wrong, or undefined. */
  expect?: AnswerCheck<T>;
  /** Extra attempts for this call (default: the client's). */
  retries?: number;
  /** Per-call timeout override. */
  timeouts?: Partial<Timeouts>;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

const SECRET_HEADERS = /^(authorization|x-api-key|api-key|cookie|x-admin-token|proxy-authorization)$/i;
const sharedAgents = new Map<string, Agent>();

function agentFor(t: Timeouts): Agent {
  const key = `${t.connectMs}/${t.headersMs}/${t.bodyMs}`;
  let agent = sharedAgents.get(key);
  if (!agent) {
    agent = new Agent({ connect: { timeout: t.connectMs }, headersTimeout: t.headersMs, bodyTimeout: t.bodyMs });
    sharedAgents.set(key, agent);
  }
  return agent;
}

export class HttpClient {
  private readonly timeouts: Timeouts;

  constructor(private readonly opts: HttpClientOptions) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
  }

  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  url(path: string, query?: HttpRequest['query']): string {
    const base = this.opts.baseUrl.endsWith('/') ? this.opts.baseUrl : this.opts.baseUrl + '/';
    const u = new URL(path.replace(/^\//, ''), base);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T = unknown>(req: HttpRequest<T>): Promise<HttpResponse<T>> {
    const url = this.url(req.path, req.query);
    const endpoint = `${req.method} ${url.replace(/\?.*$/, '')}`;
    const idempotencyKey = req.idempotencyKey === true ? randomUUID() : req.idempotencyKey;
    const retriable = IDEMPOTENT.has(req.method) || idempotencyKey !== undefined;
    const attempts = 1 + (retriable ? (req.retries ?? this.opts.retries ?? 2) : 0);
    const deadline = currentDeadline();
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.once<T>(req, url, endpoint, idempotencyKey);
      if ('response' in outcome) return outcome.response;
      if (attempt >= attempts || !outcome.retry) throw outcome.error;
      const backoff = outcome.waitMs ?? Math.min(200 * 2 ** (attempt - 1), 2000) * (0.5 + Math.random());
      // A retry that cannot finish before the command's deadline is not worth starting.
      if (deadline && deadline.remainingMs() < backoff + 100) throw outcome.error;
      this.opts.trace?.(`retrying ${endpoint} in ${Math.round(backoff)} ms (attempt ${attempt + 1} of ${attempts})`);
      await sleepWithin(backoff);
    }
  }

  get = <T = unknown>(path: string, extra: Omit<HttpRequest<T>, 'method' | 'path'> = {}) =>
    this.request<T>({ ...extra, method: 'GET', path });
  post = <T = unknown>(path: string, extra: Omit<HttpRequest<T>, 'method' | 'path'> = {}) =>
    this.request<T>({ ...extra, method: 'POST', path });
  patch = <T = unknown>(path: string, extra: Omit<HttpRequest<T>, 'method' | 'path'> = {}) =>
    this.request<T>({ ...extra, method: 'PATCH', path });
  delete = <T = unknown>(path: string, extra: Omit<HttpRequest<T>, 'method' | 'path'> = {}) =>
    this.request<T>({ ...extra, method: 'DELETE', path });

  private buildBody(req: HttpRequest, headers: Record<string, string>): string | undefined {
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      return JSON.stringify(req.json);
    }
    if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      const params = new URLSearchParams();
      for (const [k, v] of Object.entries(req.form)) if (v !== undefined) params.append(k, v);
      return params.toString();
    }
    return undefined;
  }

  private traceHeaders(headers: Record<string, string>): string {
    return Object.entries(headers)
      .map(([k, v]) => `${k}: ${SECRET_HEADERS.test(k) ? '[redacted]' : v}`)
      .join('; ');
  }

  private async once<T>(
    req: HttpRequest<T>,
    url: string,
    endpoint: string,
    idempotencyKey: string | undefined,
  ): Promise<{ response: HttpResponse<T> } | { error: HttpError; retry: boolean; waitMs?: number }> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'user-agent': 'tourniquet',
      ...this.opts.headers,
      ...req.headers,
    };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const body = this.buildBody(req, headers);
    const t = { ...this.timeouts, ...req.timeouts };
    const started = performance.now();
    this.opts.trace?.(`→ ${endpoint} (${this.traceHeaders(headers)})`);
    const deadline = currentDeadline();
    if (deadline?.expired) return { error: timeoutError(this.opts.name, endpoint, undefined, deadline)!, retry: false };
    const cut = attemptSignal(t.totalMs, deadline);
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await undiciRequest(url, {
        method: req.method,
        headers,
        body,
        signal: cut.signal,
        dispatcher: this.opts.dispatcher ?? agentFor(t),
      });
      text = await res.body.text();
    } catch (err) {
      return { error: this.networkError(err, endpoint, t, deadline), retry: !isTimeout(err) };
    } finally {
      cut.dispose();
    }
    this.opts.trace?.(
      `← ${res.statusCode} ${endpoint} in ${Math.round(performance.now() - started)} ms (${text.length} bytes)`,
    );
    return interpretAnswer<T>(this.opts.name, endpoint, req, res.statusCode, res.headers, text);
  }

  private networkError(err: unknown, endpoint: string, t: Timeouts, deadline: Deadline | undefined): HttpError {
    const name = `${this.opts.name} (${endpoint})`;
    const cut = timeoutError(this.opts.name, endpoint, err, deadline);
    if (cut) return cut;
    if (err instanceof undiciErrors.ConnectTimeoutError)
      return new HttpError(
        'step-failed',
        `${name}: no connection within ${t.connectMs / 1000} s`,
        endpoint,
        undefined,
        'is the address right and the service up?',
      );
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
      return new HttpError(
        'step-failed',
        `${name}: no response within ${(err instanceof undiciErrors.BodyTimeoutError ? t.bodyMs : t.headersMs) / 1000} s`,
        endpoint,
      );
    const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
    const detail =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND'
          ? 'host not found'
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'connection reset'
            : (err as Error).message;
    return new HttpError(
      'step-failed',
      `${name}: ${detail}`,
      endpoint,
      undefined,
      code === 'ECONNREFUSED' ? 'is the service running at that address?' : undefined,
    );
  }
}

const isTimeout = (err: unknown) =>
  err instanceof AttemptTimeout ||
  (err instanceof Error && err.name === 'DeadlineExpired') ||
  err instanceof undiciErrors.HeadersTimeoutError ||
  err instanceof undiciErrors.BodyTimeoutError ||
  err instanceof undiciErrors.ConnectTimeoutError;
