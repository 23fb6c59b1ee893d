import type { LiveVaultKey } from '../state.js';
import type { UsageTracker } from '../usage.js';
import type { Admission, Limits, Ticket, UsageView } from './types.js';

/**
 * One instance on the embedded store: limits are exact and in memory. `decide` checks rate and
 * spend against these counters, where a call's known amount counts from the moment it is let
 * through (not when the vendor answers), so calls racing for the last dollars cannot all pass.
 * Admitting and deciding run in one turn of the event loop: no other call slips in between.
 */
export class LocalLimits implements Limits {
  private readonly reserved = new Map<string, number>();
  readonly view: UsageView;

  constructor(private readonly usage: UsageTracker) {
    this.view = {
      perMinute: (id, now) => usage.perMinute(id, now),
      spentToday: (id, now) => usage.spentToday(id, now) + (this.reserved.get(id) ?? 0),
      retryAfterS: (id, limit, now) => usage.retryAfterS(id, limit, now),
    };
  }

  admit(key: LiveVaultKey, amountUsd: number | null): Admission {
    this.usage.recordCall(key.id);
    const reservedUsd = key.daily_usd_cap !== null && amountUsd !== null ? amountUsd : 0;
    if (reservedUsd) this.reserved.set(key.id, (this.reserved.get(key.id) ?? 0) + reservedUsd);
    return { ok: true, ticket: { keyId: key.id, reservedUsd, unknownCost: false, capped: key.daily_usd_cap !== null } };
  }

  settle(ticket: Ticket, costUsd: number | null): void {
    if (ticket.reservedUsd) {
      const left = (this.reserved.get(ticket.keyId) ?? 0) - ticket.reservedUsd;
      if (left > 1e-9) this.reserved.set(ticket.keyId, left);
      else this.reserved.delete(ticket.keyId);
    }
    if (costUsd !== null) this.usage.recordCost(ticket.keyId, costUsd);
  }

  held() {
    return { usd: 0, calls: 0 };
  }

  async close(): Promise<void> {}
}
