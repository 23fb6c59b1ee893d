import type { BudgetStore } from '../store/postgres-budget.js';
import type { Refusal } from '../policy.js';
import { storeRefusal, withDeadline, type LeaseOptions } from './lease-common.js';

interface CallLease {
  id: number;
  granted: number;
  used: number;
  /** performance.now() past which it is not used: measured from before the grant was asked for. */
  until: number;
}

/** One key's calls-per-minute leases on this instance. */
class CallPool {
  current: CallLease | null = null;
  fetching: Promise<Refusal | null> | null = null;
  /** Admission times (performance.now()) within the last lease period: the demand a lease is sized on. */
  recent: number[] = [];
}

/**
 * Calls per minute across the fleet: a call is let through only against a grant of calls from the
 * store, used for at most `callLeaseMs` and then given back with what was used (postgres-budget.ts
 * has the proof of the bound). Grants are sized on this instance's recent demand.
 */
export class CallLeases {
  private readonly pools = new Map<string, CallPool>();
  private readonly expired: Array<{ id: number; used: number }> = [];

  constructor(
    private readonly store: BudgetStore,
    private readonly instanceId: string,
    private readonly opts: Required<LeaseOptions>,
    private readonly onLease: (outcome: string) => void,
  ) {}

  /** Null: go (one call taken); else the refusal. */
  async take(keyId: string, limit: number): Promise<Refusal | null> {
    const pool = this.pools.get(keyId) ?? this.pools.set(keyId, new CallPool()).get(keyId)!;
    for (let attempt = 0; attempt < 4; attempt++) {
      const now = performance.now();
      const c = pool.current;
      if (c && now < c.until && c.used < c.granted) {
        c.used++;
        pool.recent.push(now);
        return null;
      }
      if (c) this.retire(pool);
      const refused = await (pool.fetching ??= this.fetch(pool, keyId, limit).finally(() => (pool.fetching = null)));
      if (refused) return refused;
    }
    return {
      stage: 'usage',
      status: 429,
      code: 'rate_limited',
      message: `over ${limit} calls per minute across the fleet`,
      headers: { 'retry-after': '1' },
    };
  }

  /** Give a call back (the call was refused after all, before it was forwarded). */
  untake(keyId: string): void {
    const c = this.pools.get(keyId)?.current;
    if (c && c.used > 0) c.used--;
  }

  private retire(pool: CallPool): void {
    const c = pool.current!;
    pool.current = null;
    this.expired.push({ id: c.id, used: c.used });
  }

  private async fetch(pool: CallPool, keyId: string, limit: number): Promise<Refusal | null> {
    const sentAt = performance.now();
    pool.recent = pool.recent.filter((t) => t > sentAt - this.opts.callLeaseMs);
    const want = Math.max(1, Math.min(Math.ceil(pool.recent.length * 1.5) + 1, Math.floor(limit / 4)));
    try {
      const g = await withDeadline(
        this.store.grantCalls(keyId, this.instanceId, limit, want, 60 + this.opts.callLeaseMs / 1000),
        this.opts.grantTimeoutMs,
        (late) => {
          if (late.id !== null) this.expired.push({ id: late.id, used: 0 });
        },
      );
      if (g.id === null || g.granted <= 0) {
        this.onLease('refused');
        const retry = String(Math.max(1, Math.ceil(g.retryAfterS)));
        return {
          stage: 'usage',
          status: 429,
          code: 'rate_limited',
          message: `over ${limit} calls per minute across the fleet`,
          headers: { 'retry-after': retry },
        };
      }
      this.onLease('granted');
      pool.current = { id: g.id, granted: g.granted, used: 0, until: sentAt + this.opts.callLeaseMs };
      return null;
    } catch (err) {
      this.onLease('error');
      return storeRefusal('calls per minute', err);
    }
  }

  /** Leases past their time go back with what they used (called on a timer and at stop). */
  async sweep(all = false): Promise<void> {
    const now = performance.now();
    for (const pool of this.pools.values()) if (pool.current && (all || now >= pool.current.until)) this.retire(pool);
    const batch = this.expired.splice(0);
    if (!batch.length) return;
    try {
      await withDeadline(this.store.returnGrants(batch), this.opts.grantTimeoutMs);
      for (let i = 0; i < batch.length; i++) this.onLease('returned');
    } catch {
      this.expired.push(...batch); // still counted in full by the store until given back: never an overrun
    }
  }

  held(): number {
    let n = 0;
    const now = performance.now();
    for (const p of this.pools.values())
      if (p.current && now < p.current.until) n += p.current.granted - p.current.used;
    return n;
  }
}
