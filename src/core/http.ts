import { Agent, errors as undiciErrors, request as undiciRequest, type Dispatcher } from 'undici';
import { randomUUID } from 'node:crypto';
import { TourniquetError, type ErrorKind } from './errors.js';
import { scopeRefusal } from './scope-refusal.js';

/**
 * The one HTTP client every adapter uses. Short timeouts, bounded retries with backoff that
 * honour Retry-After (only for idempotent requests, or POSTs carrying an idempotency key),
 * and one error for every way a response can be wrong: an HTML page from a load balancer,
 * truncated JSON, a timeout, a 200 of the wrong shape. Each names the endpoint.
 */
export interface Timeouts {
  connectMs: number;
  headersMs: number;
  bodyMs: number;
}

export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 3000, headersMs: 5000, bodyMs: 10000 };

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

export interface HttpRequest {
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
  /** Statuses that are answers, not failures (e.g. 404 for "already deleted"). */
  accept?: number[];
  /** Shape check of a successful body: return what is wrong, or undefined. */
  expect?: (body: any) => string | undefined;
  /** Per-call timeout override. */
  timeouts?: Partial<Timeouts>;
}

export interface HttpResponse<T = any> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export class HttpError extends TourniquetError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly endpoint: string,
    readonly status?: number,
    hint?: string,
  ) {
    super(kind, message, { hint, data: { endpoint, status } });
    this.name = 'HttpError';
  }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
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

/** Seconds from a Retry-After header (delta seconds or an HTTP date), capped. */
export function retryAfterMs(value: string | string[] | undefined, capMs = 10000): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), capMs) : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

  async request<T = any>(req: HttpRequest): Promise<HttpResponse<T>> {
    const url = this.url(req.path, req.query);
    const endpoint = `${req.method} ${url.replace(/\?.*$/, '')}`;
    const idempotencyKey = req.idempotencyKey === true ? randomUUID() : req.idempotencyKey;
    const retriable = IDEMPOTENT.has(req.method) || idempotencyKey !== undefined;
    const attempts = 1 + (retriable ? (this.opts.retries ?? 2) : 0);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.once<T>(req, url, endpoint, idempotencyKey);
      if ('response' in outcome) return outcome.response;
      if (attempt >= attempts || !outcome.retry) throw outcome.error;
      const backoff = outcome.waitMs ?? Math.min(200 * 2 ** (attempt - 1), 2000) * (0.5 + Math.random());
      this.opts.trace?.(`retrying ${endpoint} in ${Math.round(backoff)} ms (attempt ${attempt + 1} of ${attempts})`);
      await sleep(backoff);
    }
  }

  get = <T = any>(path: string, extra: Omit<HttpRequest, 'method' | 'path'> = {}) => this.request<T>({ ...extra, method: 'GET', path });
  post = <T = any>(path: string, extra: Omit<HttpRequest, 'method' | 'path'> = {}) => this.request<T>({ ...extra, method: 'POST', path });
  patch = <T = any>(path: string, extra: Omit<HttpRequest, 'method' | 'path'> = {}) => this.request<T>({ ...extra, method: 'PATCH', path });
  delete = <T = any>(path: string, extra: Omit<HttpRequest, 'method' | 'path'> = {}) => this.request<T>({ ...extra, method: 'DELETE', path });

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
    req: HttpRequest,
    url: string,
    endpoint: string,
    idempotencyKey: string | undefined,
  ): Promise<{ response: HttpResponse<T> } | { error: HttpError; retry: boolean; waitMs?: number }> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'tourniquet', ...this.opts.headers, ...req.headers };
    if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
    const body = this.buildBody(req, headers);
    const t = { ...this.timeouts, ...req.timeouts };
    const started = performance.now();
    this.opts.trace?.(`→ ${endpoint} (${this.traceHeaders(headers)})`);
    let res: Dispatcher.ResponseData;
    try {
      res = await undiciRequest(url, { method: req.method, headers, body, dispatcher: this.opts.dispatcher ?? agentFor(t) });
    } catch (err) {
      return { error: this.networkError(err, endpoint, t), retry: true };
    }
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      return { error: this.networkError(err, endpoint, t), retry: true };
    }
    this.opts.trace?.(`← ${res.statusCode} ${endpoint} in ${Math.round(performance.now() - started)} ms (${text.length} bytes)`);
    return this.interpret<T>(req, endpoint, res.statusCode, res.headers, text);
  }

  private networkError(err: unknown, endpoint: string, t: Timeouts): HttpError {
    const name = `${this.opts.name} (${endpoint})`;
    if (err instanceof undiciErrors.ConnectTimeoutError)
      return new HttpError('step-failed', `${name}: no connection within ${t.connectMs / 1000} s`, endpoint, undefined, 'is the address right and the service up?');
    if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError)
      return new HttpError('step-failed', `${name}: no response within ${(err instanceof undiciErrors.BodyTimeoutError ? t.bodyMs : t.headersMs) / 1000} s`, endpoint);
    const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
    const detail = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'host not found' : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset' : (err as Error).message;
    return new HttpError('step-failed', `${name}: ${detail}`, endpoint, undefined, code === 'ECONNREFUSED' ? 'is the service running at that address?' : undefined);
  }

  private interpret<T>(
    req: HttpRequest,
    endpoint: string,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    text: string,
  ): { response: HttpResponse<T> } | { error: HttpError; retry: boolean; waitMs?: number } {
    const name = `${this.opts.name} (${endpoint})`;
    const contentType = String(headers['content-type'] ?? '');
    const looksHtml = contentType.includes('text/html') || /^\s*<(!doctype|html)/i.test(text);
    const ok = (status >= 200 && status < 300) || (req.accept ?? []).includes(status);
    if (looksHtml) {
      const error = new HttpError('step-failed', `${name}: HTTP ${status} with an HTML page instead of JSON; probably a load balancer or gateway in front of the service`, endpoint, status, 'the service behind it may be down or restarting; check it, then run the command again');
      return { error, retry: RETRYABLE_STATUS.has(status) };
    }
    let body: any = undefined;
    if (text.length > 0 && req.method !== 'HEAD') {
      try {
        body = JSON.parse(text);
      } catch {
        const error = new HttpError('step-failed', `${name}: HTTP ${status} body is not valid JSON (${text.length} bytes${text.trimEnd().endsWith('}') ? '' : ', looks truncated'})`, endpoint, status);
        return { error, retry: ok && IDEMPOTENT.has(req.method) };
      }
    }
    if (ok) {
      const problem = req.expect?.(body);
      if (problem) return { error: new HttpError('step-failed', `${name}: unexpected response shape: ${problem}`, endpoint, status), retry: false };
      return { response: { status, headers, body } };
    }
    return { error: this.statusError(name, endpoint, status, body), retry: RETRYABLE_STATUS.has(status), waitMs: retryAfterMs(headers['retry-after']) };
  }

  private statusError(name: string, endpoint: string, status: number, body: any): HttpError {
    const detail = errorDetail(body);
    const suffix = detail ? `: ${detail}` : '';
    if (status === 401 || status === 403) {
      const scope = scopeRefusal(body);
      return new HttpError('auth', `${name} refused our credentials (HTTP ${status})${scope?.message ?? suffix}`, endpoint, status, scope?.hint ?? 'check the admin token or API key this profile points at (tourniquet config list)');
    }
    if (status === 404) return new HttpError('not-found', `${name}: not found (HTTP 404)${suffix}`, endpoint, status);
    return new HttpError('step-failed', `${name}: HTTP ${status}${suffix}`, endpoint, status);
  }
}

/** The message in the error bodies vendors use: {error:{message}}, {error:"..."}, {message}, {detail}. */
export function errorDetail(body: any): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const e = body.error;
  if (typeof e === 'string') return body.error_description ? `${e}: ${body.error_description}` : e;
  if (e && typeof e === 'object') return [e.code, e.message].filter(Boolean).join(': ') || undefined;
  return body.message ?? body.detail ?? undefined;
}
