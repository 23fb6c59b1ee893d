import { isCap, retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';
import { anthropicMeter } from './meter.js';

/** Anthropic's error types (docs.claude.com/en/api/errors) nearest to each refusal. */
function errorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 402) return 'billing_error';
  if (status === 403) return 'permission_error';
  if (status === 413) return 'request_too_large';
  if (status === 429) return 'rate_limit_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/**
 * Anthropic's error body, `{"type": "error", "error": {"type", "message", "details": {"error_code"}}}`:
 * the SDK raises the class for the status (AuthenticationError, PermissionDeniedError,
 * RateLimitError, PaymentRequiredError for a spend cap) with our verdict as `errorCode`.
 * Only a rate limit is worth the SDK's own retry.
 */
const refusal: Dialect = (r) => {
  const headers = { ...retryHeaders(r), ...(r.status === 429 && !isCap(r) ? {} : { 'x-should-retry': 'false' }) };
  const body = {
    type: 'error',
    error: { type: errorType(r.status), message: r.message, details: { error_code: r.code } },
  };
  return { status: r.status, headers, body };
};

export const anthropicProxy: ProxyFacts = {
  baseUrl: 'https://api.anthropic.com',
  key: { kind: 'header', header: 'x-api-key', template: '{key}' },
  // Its SDKs send `x-api-key` (and 1.x a Bearer token built from the same key).
  vaultKeyIn: [{ header: 'x-api-key' }, 'bearer'],
  recognises: ({ path, headers }) => headers['anthropic-version'] !== undefined || path.startsWith('/v1/messages'),
  customerIdPaths: ['body.metadata.user_id', 'header.x-customer-id'],
  meter: anthropicMeter,
  refusal,
};
