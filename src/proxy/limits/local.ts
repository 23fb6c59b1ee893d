import type { LiveVaultKey } from '../state.js';
import type { UsageTracker } from '../usage.js';
import type { Admission, Limits, Ticket } from './types.js';

/**
 * One instance on the embedded store: limits are exact and in memory. `decide` checks rate and
 * spend against these counters; admitting a call counts it, settling it adds its cost.
 */
export class LocalLimits implements Limits {
  constructor(private readonly usage: UsageTracker) {}

  get view(): UsageTracker {
    return this.usage;
  }

  admit(key: LiveVaultKey): Admission {
    this.usage.recordCall(key.id);
    return { ok: true, ticket: { keyId: key.id, reservedUsd: 0, unknownCost: false, capped: false } };
  }

  settle(ticket: Ticket, costUsd: number | null): void {
    if (costUsd !== null) this.usage.recordCost(ticket.keyId, costUsd);
  }

  held() {
    return { usd: 0, calls: 0 };
  }

  async close(): Promise<void> {}
}
