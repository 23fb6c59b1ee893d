import type { LiveVaultKey } from '../state.js';
import type { UsageTracker } from '../usage.js';
import { UnmeteredEstimates } from './estimate.js';
import type { Admission, Limits, Ticket, UsageView } from './types.js';

/**
 * One instance on the embedded store: limits are exact and in memory. `decide` checks rate and
 * spend against these counters, where a call's known amount counts from the moment it is let
 * through (not when the vendor answers), so calls racing for the last dollars cannot all pass.
 * Admitting and deciding run in one turn of the event loop: no other call slips in between.
 * A forwarded call that could not be metered is charged its estimate (estimate.ts).
 */
export class LocalLimits implements Limits {
  private readonly reserved = new Map<string, number>();
  private readonly estimates = new UnmeteredEstimates();
  readonly view: UsageView;

  constructor(private readonly usage: UsageTracker) {
    this.view = {
      perMinute: (id, now) => usage.perMinute(id, now),
      spentToday: (id, now) => usage.spentToday(id, now) + (this.reserved.get(id) ?? 0),
      retryAfterS: (id, limit, now) => usage.retryAfterS(id, limit, now),
    };
  }

  admit(key: LiveVaultKey, amountUsd: number | null, endpoint: string): Admission {
    this.usage.recordCall(key.id);
    const reservedUsd = key.daily_usd_cap !== null && amountUsd !== null ? amountUsd : 0;
    if (reservedUsd) this.reserved.set(key.id, (this.reserved.get(key.id) ?? 0) + reservedUsd);
    const estimateUsd = this.estimates.estimate(key, amountUsd, endpoint);
    const capped = key.daily_usd_cap !== null;
    return { ok: true, ticket: { keyId: key.id, reservedUsd, unknownCost: false, capped, estimateUsd, endpoint } };
  }

  settle(ticket: Ticket, costUsd: number | null): void {
    this.release(ticket);
    if (costUsd !== null) {
      this.usage.recordCost(ticket.keyId, costUsd);
      this.estimates.learn(ticket.keyId, ticket.endpoint, costUsd);
    } else if (ticket.estimateUsd !== null) this.usage.chargeEstimate(ticket.keyId, ticket.estimateUsd);
  }

  release(ticket: Ticket): void {
    if (!ticket.reservedUsd) return;
    const left = (this.reserved.get(ticket.keyId) ?? 0) - ticket.reservedUsd;
    if (left > 1e-9) this.reserved.set(ticket.keyId, left);
    else this.reserved.delete(ticket.keyId);
  }

  held() {
    return { usd: 0, calls: 0 };
  }

  async close(): Promise<void> {}
}
