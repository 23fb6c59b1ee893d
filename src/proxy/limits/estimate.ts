import type { LiveVaultKey } from '../state.js';

/** With nothing better to go on, an unmetered call is charged this share of the key's daily cap. */
export const UNKNOWN_CALL_CAP_SHARE = 0.01;

/** Entries kept (key × endpoint); cleared when full, which only makes estimates fall back to the ceiling. */
const MAX_ENTRIES = 10_000;

/**
 * What a call is charged against the daily cap when the proxy let it through but could not
 * meter it (no usage in the answer, an unknown model, a stream cut off, a timeout, a crash):
 * fail closed, an unmetered call is never free. In order:
 * 1. what the request asks to move, when the vendor module can tell (the amount reserved for it);
 * 2. the most a call to the same endpoint has been charged on this key here (over 0);
 * 3. the key's `per_call_amount_cap` (the most one call may move);
 * 4. 1 % of its `daily_usd_cap` (so at most 100 unmetered calls a day).
 * Null only for a key with neither cap (nothing to count it against; reported as unknown).
 * The figure is written to the call's audit row as `amount_usd_estimated`, so a restart and the
 * fleet's budget count it too, and every report marks it estimated.
 */
export class UnmeteredEstimates {
  private readonly most = new Map<string, number>();

  estimate(key: LiveVaultKey, amountUsd: number | null, endpoint: string): number | null {
    if (amountUsd !== null) return amountUsd;
    const seen = this.most.get(`${key.id} ${endpoint}`);
    if (seen !== undefined && seen > 0) return seen;
    if (key.per_call_amount_cap !== null) return key.per_call_amount_cap;
    return key.daily_usd_cap === null ? null : round6(key.daily_usd_cap * UNKNOWN_CALL_CAP_SHARE);
  }

  /** Has a call to this endpoint on this key been charged yet (even $0)? */
  seen(keyId: string, endpoint: string): boolean {
    return this.most.has(`${keyId} ${endpoint}`);
  }

  /** A forwarded call was charged `usd` (its cost, or its estimate). */
  learn(keyId: string, endpoint: string, usd: number): void {
    const id = `${keyId} ${endpoint}`;
    const most = this.most.get(id);
    if (most !== undefined && usd <= most) return;
    if (this.most.size >= MAX_ENTRIES) this.most.clear();
    this.most.set(id, usd);
  }
}

const round6 = (usd: number) => Math.round(usd * 1e6) / 1e6;
