import type { LiveVaultKey } from '../state.js';
import type { UsageTracker } from '../usage.js';
import { secondsToUtcMidnight, type Refusal } from '../policy.js';
import { UnmeteredEstimates } from './estimate.js';
import { aloneRefusal, LEASE_DEFAULTS } from './lease-common.js';
import type { Admission, Limits, Ticket, UsageView } from './types.js';

/**
 * One instance on the embedded store: limits are exact and in memory. `decide` checks rate and
 * spend against these counters, where a call's known amount counts from the moment it is let
 * through (not when the vendor answers), so calls racing for the last dollars cannot all pass.
 * A capped call whose cost is known only afterwards holds its estimate while in flight, and one to
 * an endpoint never seen to settle goes alone (as on a fleet, usd-leases.ts): so the cap is
 * overrun by at most what one call costs over its estimate.
 * A forwarded call that could not be metered is charged its estimate (estimate.ts).
 */
export class LocalLimits implements Limits {
  private readonly reserved = new Map<string, number>();
  /** Capped calls of unknown cost in flight, by `keyId endpoint`. */
  private readonly unknownInFlight = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly estimates = new UnmeteredEstimates();
  readonly view: UsageView;

  constructor(
    private readonly usage: UsageTracker,
    /** Near the cap, how long a call may wait for the cost of calls in flight. */
    private readonly settleWaitMs = LEASE_DEFAULTS.settleWaitMs,
  ) {
    this.view = {
      perMinute: (id, now) => usage.perMinute(id, now),
      spentToday: (id, now) => usage.spentToday(id, now) + (this.reserved.get(id) ?? 0),
      retryAfterS: (id, limit, now) => usage.retryAfterS(id, limit, now),
    };
  }

  admit(key: LiveVaultKey, amountUsd: number | null, endpoint: string): Admission | Promise<Admission> {
    this.usage.recordCall(key.id);
    if (key.daily_usd_cap === null || amountUsd !== null) {
      const reservedUsd = key.daily_usd_cap !== null && amountUsd !== null ? amountUsd : 0;
      return { ok: true, ticket: this.hold(key, endpoint, reservedUsd, false, amountUsd) };
    }
    return this.admitUnknown(key, key.daily_usd_cap, endpoint, performance.now() + this.settleWaitMs);
  }

  /**
   * A capped call of unknown cost: let through while today's spend, with what calls in flight
   * hold, leaves room for its estimate; near the cap, or behind the first call to an endpoint
   * not yet seen, it waits for calls in flight to settle, then is refused.
   */
  private admitUnknown(
    key: LiveVaultKey,
    cap: number,
    endpoint: string,
    deadline: number,
  ): Admission | Promise<Admission> {
    const alone =
      !this.estimates.seen(key.id, endpoint) && (this.unknownInFlight.get(`${key.id} ${endpoint}`) ?? 0) > 0;
    const estimateUsd = this.estimates.estimate(key, null, endpoint) ?? 0;
    const spent = this.view.spentToday(key.id, Date.now());
    const over = spent + estimateUsd > cap;
    if (!alone && !over) return { ok: true, ticket: this.hold(key, endpoint, estimateUsd, true, estimateUsd) };
    // Calls in flight may settle for less than they hold (or teach the endpoint's cost): wait for them.
    const inFlight = alone || (this.reserved.get(key.id) ?? 0) > 0;
    if (inFlight && performance.now() < deadline)
      return this.settled(deadline - performance.now()).then(() => this.admitUnknown(key, cap, endpoint, deadline));
    return { ok: false, refusal: alone ? aloneRefusal() : capRefusal(cap, spent, estimateUsd) };
  }

  private hold(
    key: LiveVaultKey,
    endpoint: string,
    reservedUsd: number,
    unknownCost: boolean,
    amountUsd: number | null,
  ): Ticket {
    if (reservedUsd) this.reserved.set(key.id, (this.reserved.get(key.id) ?? 0) + reservedUsd);
    if (unknownCost) {
      const id = `${key.id} ${endpoint}`;
      this.unknownInFlight.set(id, (this.unknownInFlight.get(id) ?? 0) + 1);
    }
    const estimateUsd = this.estimates.estimate(key, amountUsd, endpoint);
    const capped = key.daily_usd_cap !== null;
    return { keyId: key.id, reservedUsd, unknownCost, capped, estimateUsd, endpoint };
  }

  /** Resolves when a call in flight settles or is released, or after `ms`. */
  private settled(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => (clearTimeout(t), this.waiters.delete(done), resolve());
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  settle(ticket: Ticket, costUsd: number | null): void {
    if (costUsd !== null) {
      this.usage.recordCost(ticket.keyId, costUsd);
      this.estimates.learn(ticket.keyId, ticket.endpoint, costUsd);
    } else if (ticket.estimateUsd !== null) {
      this.usage.chargeEstimate(ticket.keyId, ticket.estimateUsd);
      this.estimates.learn(ticket.keyId, ticket.endpoint, ticket.estimateUsd);
    }
    // Charged first, then let go: a waiting call never sees the dollars in neither place.
    this.release(ticket);
  }

  release(ticket: Ticket): void {
    if (ticket.reservedUsd) {
      const left = (this.reserved.get(ticket.keyId) ?? 0) - ticket.reservedUsd;
      if (left > 1e-9) this.reserved.set(ticket.keyId, left);
      else this.reserved.delete(ticket.keyId);
    }
    if (ticket.unknownCost) {
      const id = `${ticket.keyId} ${ticket.endpoint}`;
      const left = (this.unknownInFlight.get(id) ?? 0) - 1;
      if (left > 0) this.unknownInFlight.set(id, left);
      else this.unknownInFlight.delete(id);
    }
    if (this.waiters.size) for (const w of [...this.waiters]) w();
  }

  held() {
    return { usd: 0, calls: 0 };
  }

  async close(): Promise<void> {}
}

const capRefusal = (cap: number, spent: number, estimateUsd: number): Refusal => ({
  stage: 'usage',
  status: 402,
  code: 'spend_cap_exceeded',
  message: `daily cap of $${cap} reached ($${spent.toFixed(2)} spent or held today; a call here may cost $${estimateUsd.toFixed(2)}, its cost known only afterwards)`,
  headers: { 'retry-after': String(secondsToUtcMidnight(Date.now())) },
});
