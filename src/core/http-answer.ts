import { TourniquetError, type ErrorKind } from './errors.js';
import { formatMs, type Deadline } from './deadline.js';
import { scopeRefusal } from './scope-refusal.js';
import { fieldOf, isRecord, stringField } from './json.js';

/**
 * What an HTTP answer means, shared by the undici client (core/http.ts) and the node:http fast
 * path of `revoke` (adapters/proxy/client.ts), so both read an answer the same way: an HTML
 * page, truncated JSON, a redirect, a 401/403, a 200 of the wrong shape. Loads no HTTP library.
 */
export class HttpError extends TourniquetError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly endpoint: string,
    readonly status?: number,
    hint?: string,
    extra: Record<string, unknown> = {},
  ) {
    super(kind, message, { hint, data: { endpoint, status, ...extra } });
    this.name = 'HttpError';
  }
}

export const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);
export const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

/** Seconds from a Retry-After header (delta seconds or an HTTP date), capped. */
export function retryAfterMs(value: string | string[] | undefined, capMs = 10000): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  const secs = Number(v);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), capMs) : undefined;
}

/** Why an attempt was cut short by its own total deadline (the command's has DeadlineExpired). */
export class AttemptTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no complete answer within ${formatMs(ms)}`);
    this.name = 'AttemptTimeout';
  }
}

/** One attempt's abort signal: its own total deadline, or the command's, whichever comes first. */
export function attemptSignal(
  totalMs: number,
  deadline: Deadline | undefined,
): { signal: AbortSignal; dispose(): void } {
  const own = new AbortController();
  // When the command's deadline comes first, its own signal ends the attempt and names the cause.
  const ownFirst = !deadline || totalMs <= deadline.remainingMs();
  const timer = ownFirst ? setTimeout(() => own.abort(new AttemptTimeout(totalMs)), totalMs) : undefined;
  const signal = deadline ? AbortSignal.any([own.signal, deadline.signal]) : own.signal;
  return { signal, dispose: () => clearTimeout(timer) };
}

export const SLOW_HINT =
  'the service is too slow or not answering; if it is only slow, raise timeout_ms (one call) or --deadline (the command)';

/** The error for an attempt cut short, naming the endpoint and which limit ended it. */
export function timeoutError(
  name: string,
  endpoint: string,
  err: unknown,
  deadline: Deadline | undefined,
): HttpError | undefined {
  if (err instanceof AttemptTimeout)
    return new HttpError('step-failed', `${name} (${endpoint}): ${err.message}`, endpoint, undefined, SLOW_HINT, {
      timeout: true,
    });
  if (deadline?.expired || (err instanceof Error && err.name === 'DeadlineExpired'))
    return new HttpError(
      'step-failed',
      `${name} (${endpoint}): ${deadline?.describe() ?? "the command's deadline"} passed while waiting for it`,
      endpoint,
      undefined,
      SLOW_HINT,
      { timeout: true },
    );
  return undefined;
}

export interface AnswerRequest {
  method: string;
  /** Statuses that are answers, not failures (e.g. 404 for "not found"). */
  accept?: number[];
  /** Shape check of an accepted answer (2xx, or a status in `accept`): what is wrong, or undefined. */
  expect?: (body: unknown, status: number) => string | undefined;
}

export type Interpreted<T> =
  | { response: { status: number; headers: Record<string, string | string[] | undefined>; body: T } }
  | { error: HttpError; retry: boolean; waitMs?: number };

/** One answer, read: the response, or the error naming the endpoint and whether a retry may help. */
export function interpretAnswer<T>(
  name: string,
  endpoint: string,
  req: AnswerRequest,
  status: number,
  headers: Record<string, string | string[] | undefined>,
  text: string,
): Interpreted<T> {
  const who = `${name} (${endpoint})`;
  const contentType = String(headers['content-type'] ?? '');
  const looksHtml = contentType.includes('text/html') || /^\s*<(!doctype|html)/i.test(text);
  const ok = (status >= 200 && status < 300) || (req.accept ?? []).includes(status);
  if (looksHtml) {
    const error = new HttpError(
      'step-failed',
      `${who}: HTTP ${status} with an HTML page instead of JSON; probably a load balancer or gateway in front of the service`,
      endpoint,
      status,
      'the service behind it may be down or restarting; check it, then run the command again',
    );
    return { error, retry: RETRYABLE_STATUS.has(status) };
  }
  let body: unknown = undefined;
  if (text.length > 0 && req.method !== 'HEAD') {
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      const error = new HttpError(
        'step-failed',
        `${who}: HTTP ${status} body is not valid JSON (${text.length} bytes${text.trimEnd().endsWith('}') ? '' : ', looks truncated'})`,
        endpoint,
        status,
      );
      return { error, retry: ok && IDEMPOTENT.has(req.method) };
    }
  }
  if (ok) {
    const problem = req.expect?.(body, status);
    if (problem)
      return {
        error: new HttpError(
          'step-failed',
          `${who}: unexpected answer: ${problem}`,
          endpoint,
          status,
          'the service answered, but not with what this route documents; is proxy_url the right service and version?',
          { shape: problem },
        ),
        retry: false,
      };
    // T is what the caller's `expect` check (when it has one) just accepted.
    return { response: { status, headers, body: body as T } };
  }
  return {
    error: statusError(who, endpoint, status, body, headers),
    retry: RETRYABLE_STATUS.has(status),
    waitMs: retryAfterMs(headers['retry-after']),
  };
}

function statusError(
  who: string,
  endpoint: string,
  status: number,
  body: unknown,
  headers: Record<string, string | string[] | undefined>,
): HttpError {
  const detail = errorDetail(body);
  const suffix = detail ? `: ${detail}` : '';
  const errorCode = stringField(fieldOf(body, 'error'), 'code');
  const code = errorCode !== undefined ? { code: errorCode } : {};
  // Never followed: the credentials in our headers go only to the address the operator configured.
  if (status >= 300 && status < 400)
    return new HttpError(
      'step-failed',
      `${who}: redirected (HTTP ${status}) to ${String(headers.location ?? 'nowhere')}; not followed, our credentials go only to the configured address`,
      endpoint,
      status,
      'point the profile at the address the service really answers on (tourniquet config set proxy_url URL)',
    );
  if (status === 401 || status === 403) {
    // Our proxy names the scope a call needs (403 insufficient_scope): say it, and how to get one.
    const scope = scopeRefusal(body);
    return new HttpError(
      'auth',
      `${who} refused our credentials (HTTP ${status})${scope?.message ?? suffix}`,
      endpoint,
      status,
      scope?.hint ?? 'check the admin token or API key this profile points at (tourniquet config list)',
      { ...code, ...(scope ? { required_scope: scope.required_scope } : {}) },
    );
  }
  if (status === 404)
    return new HttpError('not-found', `${who}: not found (HTTP 404)${suffix}`, endpoint, status, undefined, code);
  return new HttpError('step-failed', `${who}: HTTP ${status}${suffix}`, endpoint, status, undefined, code);
}

/** The message in the error bodies vendors use: {error:{message}}, {error:"..."}, {message}, {detail}. */
export function errorDetail(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const e = body.error;
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : undefined);
  if (typeof e === 'string') return body.error_description ? `${e}: ${text(body.error_description) ?? ''}` : e;
  if (isRecord(e)) return [text(e.code), text(e.message)].filter(Boolean).join(': ') || undefined;
  return text(body.message) ?? text(body.detail);
}
