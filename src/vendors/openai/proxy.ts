import { isCap, retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';
import { openaiMeter } from './meter.js';

/**
 * OpenAI's error body, `{"error": {"message", "type", "param", "code"}}`: the SDK raises the
 * class for the status (AuthenticationError, PermissionDeniedError, RateLimitError) with our
 * verdict as `code`. A spend cap is OpenAI's own "quota" answer, 429 `insufficient_quota`, told
 * not to retry (`x-should-retry: false`); a rate limit may be retried after Retry-After.
 */
const refusal: Dialect = (r) => {
  const cap = isCap(r);
  const status = cap ? 429 : r.status;
  const type = cap
    ? 'insufficient_quota'
    : r.status >= 500
      ? 'server_error'
      : r.status === 429
        ? 'rate_limit_error'
        : 'invalid_request_error';
  const headers = { ...retryHeaders(r), ...(r.status === 429 ? {} : { 'x-should-retry': 'false' }) };
  return { status, headers, body: { error: { message: r.message, type, param: null, code: r.code } } };
};

export const openaiProxy: ProxyFacts = {
  baseUrl: 'https://api.openai.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer'],
  recognises: ({ path }) =>
    /^\/v1\/(chat|responses|embeddings|completions|images|audio|moderations|models|files|batches|organization)/.test(
      path,
    ),
  customerIdPaths: ['body.user', 'body.safety_identifier', 'header.x-customer-id'],
  meter: openaiMeter,
  refusal,
};
