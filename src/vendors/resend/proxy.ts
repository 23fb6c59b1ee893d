import { jsonBody, notCharged, ok, unknownCost, type Metering, type MeterRequest } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';

/**
 * Resend answers a repeated Idempotency-Key (same body, within 24 h) with the first answer and
 * sends nothing, but does not mark the replay; the proxy remembers the keys of sends it saw
 * succeed. Per proxy instance and bounded: a replay through another instance is charged again.
 */
const DAY_MS = 86_400_000;
const MAX_REMEMBERED = 10_000;
const sent = new Map<string, number>();

function isReplay(req: MeterRequest, now = Date.now()): boolean {
  const key = req.headers['idempotency-key'];
  if (typeof key !== 'string') return false;
  const id = `${req.path} ${key}`;
  const at = sent.get(id);
  if (at !== undefined && now - at < DAY_MS) return true;
  if (sent.size >= MAX_REMEMBERED) sent.delete(sent.keys().next().value!);
  sent.set(id, now);
  return false;
}

/** Sending is priced per email (a batch by its count); replays, reads, cancels and key management are free. */
function resendMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method !== 'POST') return notCharged;
  const each = prices.units.per_email;
  // A broadcast goes to an audience whose size the answer does not say.
  if (req.path !== '/emails' && req.path !== '/emails/batch')
    return /^\/broadcasts\/[^/]+\/send$/.test(req.path) ? unknownCost : notCharged;
  return {
    cost(res) {
      if (!ok(res.status) || isReplay(req)) return 0;
      if (each === undefined) return null;
      if (req.path === '/emails') return each;
      const obj = jsonBody(res);
      return Array.isArray(obj?.data) ? obj.data.length * each : null;
    },
  };
}

/** Resend's names (its SDK's RESEND_ERROR_CODE_KEY) and statuses nearest to each refusal. */
function resendError(status: number, code: string): [number, string] {
  if (code === 'vault_key_missing') return [401, 'missing_api_key'];
  if (status === 401) return [403, 'invalid_api_key'];
  if (status === 403) return [401, 'restricted_api_key'];
  if (code === 'spend_cap_exceeded') return [429, 'daily_quota_exceeded'];
  if (status === 429) return [429, 'rate_limit_exceeded'];
  if (status >= 500) return [status, 'application_error'];
  return [status, 'validation_error'];
}

/**
 * Resend's error body, `{"statusCode", "message", "name"}`, which its SDK returns as `error`
 * (it does not throw). The message starts with our verdict.
 */
const refusal: Dialect = (r) => {
  const [statusCode, name] = resendError(r.status, r.code);
  return {
    status: statusCode,
    headers: retryHeaders(r),
    body: { statusCode, message: `${r.code}: ${r.message}`, name },
  };
};

export const resendProxy: ProxyFacts = {
  baseUrl: 'https://api.resend.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer'],
  recognises: ({ path }) => /^\/(emails|api-keys|domains|audiences|contacts|broadcasts)(\/|$)/.test(path),
  customerIdPaths: ['body.to'],
  meter: resendMeter,
  refusal,
};
