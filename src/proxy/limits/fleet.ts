import type { LiveVaultKey } from '../state.js';
import type { UsageTracker } from '../usage.js';
import type { BudgetStore } from '../store/postgres-budget.js';
import type { Admission, Limits, Ticket, UsageView } from './types.js';
import { LEASE_DEFAULTS, type LeaseOptions } from './lease-common.js';
import { CallLeases } from './call-leases.js';
import { UsdLeases, type UsdTake } from './usd-leases.js';
import { UnmeteredEstimates } from './estimate.js';

/** `decide` checks no rate or spend itself when limits are fleet-wide: the leases do. */
const NO_LOCAL_LIMITS: UsageView = { perMinute: () => 0, spentToday: () => 0, retryAfterS: () => 1 };

interface FleetTicket extends Ticket {
  usd?: UsdTake;
}

/**
 * `daily_usd_cap` and `calls_per_minute` across every instance sharing a PostgreSQL store, decided
 * from memory against leases taken from it (call-leases.ts, usd-leases.ts). Most calls take from
 * a lease in memory; one in many asks the store. The store unreachable: no new lease, so nothing
 * beyond the leases already held (fail closed). `per_call_amount_cap` needs no shared state.
 */
export class FleetLimits implements Limits {
  readonly view = NO_LOCAL_LIMITS;
  private readonly calls: CallLeases;
  private readonly usd: UsdLeases;
  private readonly timer: NodeJS.Timeout;
  private readonly estimates = new UnmeteredEstimates();

  constructor(
    store: BudgetStore,
    instanceId: string,
    private readonly usage: UsageTracker,
    onLease: (kind: 'usd' | 'calls', outcome: string) => void = () => {},
    options: LeaseOptions = {},
  ) {
    const opts = { ...LEASE_DEFAULTS, ...options };
    this.calls = new CallLeases(store, instanceId, opts, (o) => onLease('calls', o));
    this.usd = new UsdLeases(store, instanceId, opts, (o) => onLease('usd', o));
    this.timer = setInterval(() => void this.sweep(false), Math.min(250, opts.callLeaseMs / 4));
    this.timer.unref();
  }

  async admit(key: LiveVaultKey, amountUsd: number | null, endpoint: string): Promise<Admission> {
    const ticket: FleetTicket = {
      keyId: key.id,
      reservedUsd: 0,
      unknownCost: false,
      capped: key.daily_usd_cap !== null,
      estimateUsd: this.estimates.estimate(key, amountUsd, endpoint),
      endpoint,
    };
    if (key.calls_per_minute !== null) {
      const refused = await this.calls.take(key.id, key.calls_per_minute);
      if (refused) return { ok: false, refusal: refused };
    }
    if (key.daily_usd_cap !== null) {
      const got = await this.usd.take(key.id, key.daily_usd_cap, amountUsd, endpoint);
      if ('refusal' in got) {
        if (key.calls_per_minute !== null) this.calls.untake(key.id);
        return { ok: false, refusal: got.refusal };
      }
      ticket.usd = got;
      ticket.reservedUsd = got.reserved;
      ticket.unknownCost = got.unknown;
    }
    this.usage.recordCall(key.id); // this instance's own counters: /v1/rates, watch
    return { ok: true, ticket };
  }

  /** An unmetered call is charged its estimate against the lease, so the store counts it too. */
  settle(ticket: Ticket, costUsd: number | null): void {
    const t = ticket as FleetTicket;
    if (t.usd) this.usd.settle(t.keyId, t.usd, costUsd ?? t.estimateUsd ?? 0);
    if (costUsd !== null) {
      this.usage.recordCost(t.keyId, costUsd);
      this.estimates.learn(t.keyId, t.endpoint, costUsd);
    }
  }

  release(ticket: Ticket): void {
    const t = ticket as FleetTicket;
    if (t.usd) this.usd.release(t.keyId, t.usd);
  }

  held() {
    return { usd: this.usd.held(), calls: this.calls.held() };
  }

  private async sweep(all: boolean): Promise<void> {
    await Promise.all([this.calls.sweep(all), this.usd.sweep(all)]);
  }

  /** At stop: give back what is not in flight (best effort; what stays is counted in full by the store). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.sweep(true).catch(() => {});
  }
}
