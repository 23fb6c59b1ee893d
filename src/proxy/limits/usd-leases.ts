import type { BudgetStore } from '../store/postgres-budget.js';
import { secondsToUtcMidnight, type Refusal } from '../policy.js';
import { aloneRefusal, storeRefusal, withDeadline, type LeaseOptions } from './lease-common.js';

const today = () => new Date().toISOString().slice(0, 10);

/** One key's dollars on this instance for one UTC day: the grants it holds and what it spent of them. */
class UsdPool {
  grants: Array<{ id: number; amount: number }> = [];
  granted = 0;
  used = 0;
  /** Known amounts of calls in flight. */
  reserved = 0;
  /** Calls in flight whose cost is known only after they ran. */
  unknown = 0;
  /** Of those, what they may cost: the most each one's endpoint has cost here so far. */
  exposure = 0;
  /** The most a call to each endpoint of this key has cost here (absent: never seen settle). */
  maxCost = new Map<string, number>();
  lastUse = performance.now();
  fetching: Promise<number | Refusal> | null = null;
  /** performance.now() of the last time the store said the day's cap is used up. */
  exhaustedAt = -Infinity;
  private waiters = new Set<() => void>();

  constructor(readonly day: string) {}

  get avail(): number {
    return this.granted - this.used - this.reserved;
  }

  get idle(): boolean {
    return this.reserved === 0 && this.unknown === 0;
  }

  /** Resolves when a call in flight settles, or after `ms`. */
  settled(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => (clearTimeout(t), this.waiters.delete(done), resolve());
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** What each grant used: filled in order, the last one takes any overrun (the store must see it). */
  usage(): Array<{ id: number; used: number }> {
    let left = this.used;
    return this.grants.map((g, i) => {
      const used = i === this.grants.length - 1 ? left : Math.min(g.amount, left);
      left -= used;
      return { id: g.id, used };
    });
  }
}

const capRefusal = (cap: number): Refusal => ({
  stage: 'usage',
  status: 402,
  code: 'spend_cap_exceeded',
  message: `daily cap of $${cap} reached across the fleet`,
  headers: { 'retry-after': String(secondsToUtcMidnight(Date.now())) },
});

/**
 * The daily cap across the fleet. A call with a known amount reserves it from this instance's
 * grants; a call whose cost is known only afterwards is let through while the grants cover it at
 * the most this key has cost so far, and one at a time when they do not: so each instance can
 * overrun the cap by at most the cost of the one call it let through last. Unused dollars go
 * back to the store when the key has been idle for a moment; a dead instance's grants count as
 * spent (the cap is then under-used, never overrun).
 */
/** What a call took from a pool; handed back when it settles. */
export interface UsdTake {
  reserved: number;
  unknown: boolean;
  /** The endpoint's most-seen cost this call was let through on (0 for a known amount). */
  exposure: number;
  endpoint: string;
  day: string;
}

export class UsdLeases {
  private readonly pools = new Map<string, UsdPool>();

  constructor(
    private readonly store: BudgetStore,
    private readonly instanceId: string,
    private readonly opts: Required<LeaseOptions>,
    private readonly onLease: (outcome: string) => void,
  ) {}

  private pool(keyId: string): UsdPool {
    const day = today();
    let p = this.pools.get(keyId);
    if (!p || p.day !== day) {
      if (p?.grants.length) this.giveBack(p); // yesterday's, as they stand (sent by the next sweep)
      p = new UsdPool(day);
      this.pools.set(keyId, p);
    }
    return p;
  }

  /**
   * A known amount is reserved. A call whose cost is known only afterwards goes through while the
   * pool covers what every such call in flight may cost (the most its endpoint has cost so far);
   * one to an endpoint never seen to cost anything goes only when no other is in flight.
   */
  async take(
    keyId: string,
    cap: number,
    amount: number | null,
    endpoint: string,
  ): Promise<{ refusal: Refusal } | UsdTake> {
    const deadline = performance.now() + this.opts.settleWaitMs;
    for (;;) {
      const p = this.pool(keyId);
      p.lastUse = performance.now();
      const a = p.avail;
      if (amount !== null && a >= amount)
        return ((p.reserved += amount), { reserved: amount, unknown: false, exposure: 0, endpoint, day: p.day });
      const m = p.maxCost.get(endpoint);
      // A call to an endpoint never seen to cost anything goes alone: more budget would not change that.
      const alone = m === undefined && p.unknown > 0;
      if (amount === null && a > 0 && !alone && a >= p.exposure + (m ?? 0)) {
        p.unknown++;
        p.exposure += m ?? 0;
        return { reserved: 0, unknown: true, exposure: m ?? 0, endpoint, day: p.day };
      }
      if (amount === null && a > 0 && alone) {
        if (performance.now() >= deadline) return { refusal: aloneRefusal() };
        await p.settled(deadline - performance.now());
        continue;
      }
      const need = amount !== null ? amount - a : Math.max(p.exposure + (m ?? 0) - a, 0.01);
      const got = await this.fetch(p, keyId, cap, need);
      if (typeof got !== 'number') return { refusal: got };
      if (got > 0) continue;
      // The fleet has nothing left for today: wait for calls in flight to say what they cost.
      if (amount === null && p.unknown > 0 && a > 0 && performance.now() < deadline) {
        await p.settled(deadline - performance.now());
        continue;
      }
      return { refusal: capRefusal(cap) };
    }
  }

  private fetch(p: UsdPool, keyId: string, cap: number, need: number): Promise<number | Refusal> {
    // Said "used up" a moment ago: do not ask again for every call of a runaway agent.
    if (performance.now() - p.exhaustedAt < 500) return Promise.resolve(0);
    return (p.fetching ??= this.ask(p, keyId, cap, need).finally(() => (p.fetching = null)));
  }

  private async ask(p: UsdPool, keyId: string, cap: number, need: number): Promise<number | Refusal> {
    const want = Math.min(cap, Math.max(need, cap * this.opts.usdSlice, 0.01));
    try {
      const g = await withDeadline(
        this.store.grantUsd(keyId, this.instanceId, p.day, cap, want),
        this.opts.grantTimeoutMs,
        (late) => {
          if (late.id !== null) this.unreturned.push({ id: late.id, used: 0 });
        },
      );
      if (g.id === null || g.granted <= 0) {
        this.onLease('refused');
        p.exhaustedAt = performance.now();
        return 0;
      }
      this.onLease('granted');
      p.grants.push({ id: g.id, amount: g.granted });
      p.granted += g.granted;
      return g.granted;
    } catch (err) {
      this.onLease('error');
      return storeRefusal('budget', err);
    }
  }

  /** A forwarded call ended: `charged` is its cost, or the estimate of a call that could not be metered. */
  settle(keyId: string, t: UsdTake, charged: number): void {
    const p = this.unhold(keyId, t);
    if (!p) return;
    p.used += charged;
    if (charged > (p.maxCost.get(t.endpoint) ?? -1)) p.maxCost.set(t.endpoint, charged);
  }

  /** The call was never forwarded: what it held goes back, nothing is used. */
  release(keyId: string, t: UsdTake): void {
    this.unhold(keyId, t);
  }

  private unhold(keyId: string, t: UsdTake): UsdPool | undefined {
    const p = this.pools.get(keyId);
    if (!p || p.day !== t.day) return; // the day rolled while it ran: yesterday's grants went back as they stood
    p.reserved -= t.reserved;
    if (t.unknown) {
      p.unknown--;
      p.exposure -= t.exposure;
    }
    p.lastUse = performance.now();
    p.wake();
    return p;
  }

  /** Grants handed back that the store has not taken yet (retried; until then counted in full there). */
  private unreturned: Array<{ id: number; used: number }> = [];

  private giveBack(p: UsdPool): void {
    this.unreturned.push(...p.usage());
  }

  /**
   * Idle keys' dollars go back (timer); at stop, everything not in flight. A pool is swapped out
   * before anything is awaited, so no call can spend from grants that are on their way back.
   */
  async sweep(all = false): Promise<void> {
    const now = performance.now();
    for (const [id, p] of this.pools) {
      if (!p.grants.length || !p.idle || (!all && now - p.lastUse < this.opts.idleReturnMs)) continue;
      const fresh = new UsdPool(p.day);
      fresh.maxCost = p.maxCost;
      this.pools.set(id, fresh);
      this.giveBack(p);
    }
    const batch = this.unreturned.splice(0);
    if (!batch.length) return;
    try {
      await withDeadline(this.store.returnGrants(batch), this.opts.grantTimeoutMs);
      for (let i = 0; i < batch.length; i++) this.onLease('returned');
    } catch {
      this.unreturned.push(...batch);
    }
  }

  held(): number {
    let usd = 0;
    for (const p of this.pools.values()) usd += Math.max(0, p.avail);
    return usd;
  }
}
