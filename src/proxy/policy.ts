import type { PolicyVerdict } from './store/types.js';
import type { LiveVaultKey } from './state.js';
import type { UsageView } from './limits/types.js';

export interface Refusal {
  /** 'key': decided from the key alone (before the body is read); 'usage': rate and spend. */
  stage: 'key' | 'usage';
  status: number;
  code: PolicyVerdict;
  message: string;
  headers?: Record<string, string>;
}

const r = (
  stage: Refusal['stage'],
  status: number,
  code: PolicyVerdict,
  message: string,
  headers?: Record<string, string>,
): Refusal => ({
  stage,
  status,
  code,
  message,
  headers,
});

/** The daily cap resets at 00:00 UTC (the spend counter's day). */
export const secondsToUtcMidnight = (now: number) => Math.max(1, Math.ceil((86_400_000 - (now % 86_400_000)) / 1000));

/**
 * The policy decision for one call, from memory only. Null: allowed. Order matters: the key's
 * own state first (so a revoked key is always told it is revoked), then the endpoint, then
 * rate and spend. `amountUsd` is what the request asks to move, when the vendor says.
 */
export function decide(
  key: LiveVaultKey | undefined,
  method: string,
  path: string,
  now: number,
  amountUsd: number | null,
  usage: UsageView,
  /** The vendor says this request moves money (so a per-call cap needs its amount). */
  movesMoney = false,
): Refusal | null {
  if (!key) return r('key', 401, 'vault_key_unknown', 'this vault key is not known to the proxy');
  if (key.status === 'revoked')
    return r('key', 401, 'vault_key_revoked', `vault key ${key.id} was revoked at ${key.revoked_at}`);
  if (key.expiresAtMs !== null && now >= key.expiresAtMs)
    return r('key', 401, 'vault_key_expired', `vault key ${key.id} expired at ${key.expires_at}`);
  if (key.endpointAllowed && !key.endpointAllowed(method, path))
    return r('key', 403, 'endpoint_not_allowed', `${method} ${path} is not in this vault key's allowed endpoints`);
  if (key.calls_per_minute !== null && usage.perMinute(key.id, now) >= key.calls_per_minute)
    return r('usage', 429, 'rate_limited', `over ${key.calls_per_minute} calls per minute`, {
      'retry-after': String(usage.retryAfterS(key.id, key.calls_per_minute, now)),
    });
  // Fail closed: a cap that cannot be checked does not let the call through.
  if (amountUsd === null && movesMoney && key.per_call_amount_cap !== null)
    return r(
      'usage',
      402,
      'spend_cap_exceeded',
      `this call moves money but its amount could not be read (missing, a currency without a rate, or a field given twice), so the per-call cap of $${key.per_call_amount_cap} cannot be checked`,
    );
  if (amountUsd !== null && key.per_call_amount_cap !== null && amountUsd > key.per_call_amount_cap)
    return r(
      'usage',
      402,
      'spend_cap_exceeded',
      `this call moves $${amountUsd.toFixed(2)}, over the per-call cap of $${key.per_call_amount_cap}`,
    );
  if (key.daily_usd_cap !== null) {
    const spent = usage.spentToday(key.id, now);
    if (spent >= key.daily_usd_cap || (amountUsd !== null && spent + amountUsd > key.daily_usd_cap))
      return r(
        'usage',
        402,
        'spend_cap_exceeded',
        `daily cap of $${key.daily_usd_cap} reached ($${spent.toFixed(2)} spent today)`,
        {
          'retry-after': String(secondsToUtcMidnight(now)),
        },
      );
  }
  return null;
}
