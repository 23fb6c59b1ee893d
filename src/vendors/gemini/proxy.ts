import { retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';
import { geminiMeter } from './meter.js';

/** google.rpc.Code names for the statuses we answer with. */
const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  413: 'INVALID_ARGUMENT',
  429: 'RESOURCE_EXHAUSTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/**
 * Google's error body, `{"error": {"code", "message", "status", "details"}}` (google.rpc.Status):
 * @google/genai throws an ApiError with the HTTP status and this body as its message. A spend
 * cap is a quota (429 RESOURCE_EXHAUSTED, as Google reports its own); our verdict is the
 * ErrorInfo's reason, and a retry delay is a RetryInfo.
 */
const refusal: Dialect = (r) => {
  const status = r.code === 'spend_cap_exceeded' ? 429 : r.status;
  const details: unknown[] = [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: r.code.toUpperCase(),
      domain: 'tourniquet',
      metadata: { verdict: r.code },
    },
  ];
  if (r.retryAfterS !== undefined)
    details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${Math.ceil(r.retryAfterS)}s` });
  const body = {
    error: {
      code: status,
      message: r.message,
      status: STATUS_NAMES[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      details,
    },
  };
  return { status, headers: retryHeaders(r), body };
};

export const geminiProxy: ProxyFacts = {
  baseUrl: 'https://generativelanguage.googleapis.com',
  key: { kind: 'header', header: 'x-goog-api-key', template: '{key}' },
  // @google/genai sends `x-goog-api-key`; REST examples and older clients use `?key=`.
  vaultKeyIn: [{ header: 'x-goog-api-key' }, { query: 'key' }],
  recognises: ({ path, headers }) =>
    headers['x-goog-api-key'] !== undefined ||
    /^\/(upload\/)?v1(beta|alpha)\//.test(path) ||
    /^\/v1\/models\/[^/]+:/.test(path),
  customerIdPaths: ['header.x-customer-id'],
  meter: geminiMeter,
  refusal,
};
