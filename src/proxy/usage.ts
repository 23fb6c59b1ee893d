/**
 * Per-vault-key counters in memory: calls in the last minute (rate limit, `/v1/rates`),
 * spend today (daily cap) and spend in the last ten minutes. Seeded from the store at start.
 *
 * Fixed rings of time buckets, so the cost of a call and the memory per key stay constant at
 * any rate: 60 one-second buckets for calls, 60 ten-second buckets for spend. A bucket carries
 * the time slot it counts, so stale buckets are skipped without being cleared.
 */
const SLOTS = 60;

interface KeyUsage {
  calls: Int32Array;
  callSlot: Float64Array;
  costs: Float64Array;
  costSlot: Float64Array;
  /** UTC day number (ms since epoch / 86,400,000). */
  day: number;
  spentToday: number;
}

export class UsageTracker {
  private readonly keys = new Map<string, KeyUsage>();
  /** Production key id → epoch ms of the last call forwarded with it (this instance, since it started). */
  private readonly upstreamUse = new Map<string, number>();

  recordUpstreamUse(id: string, now = Date.now()): void {
    this.upstreamUse.set(id, now);
  }

  /** When this instance last forwarded a call with the production key; null: not since it started. */
  upstreamLastUsed(id: string): string | null {
    const at = this.upstreamUse.get(id);
    return at === undefined ? null : new Date(at).toISOString();
  }

  private get(id: string, now: number): KeyUsage {
    let u = this.keys.get(id);
    const day = Math.floor(now / 86_400_000);
    if (!u) {
      u = {
        calls: new Int32Array(SLOTS),
        callSlot: new Float64Array(SLOTS).fill(-1),
        costs: new Float64Array(SLOTS),
        costSlot: new Float64Array(SLOTS).fill(-1),
        day,
        spentToday: 0,
      };
      this.keys.set(id, u);
    }
    if (u.day !== day) {
      u.day = day;
      u.spentToday = 0;
    }
    return u;
  }

  seedSpend(id: string, usd: number, now = Date.now()): void {
    this.get(id, now).spentToday = usd;
  }

  /** Calls in the last 60 s (one-second resolution). */
  perMinute(id: string, now = Date.now()): number {
    const u = this.keys.get(id);
    if (!u) return 0;
    const sec = Math.floor(now / 1000);
    let n = 0;
    for (let i = 0; i < SLOTS; i++) if (u.callSlot[i]! > sec - SLOTS) n += u.calls[i]!;
    return n;
  }

  /** Seconds until a call fits under `limit` per minute again: when enough of the oldest calls leave the window. */
  retryAfterS(id: string, limit: number, now = Date.now()): number {
    const u = this.keys.get(id);
    if (!u) return 1;
    const sec = Math.floor(now / 1000);
    const live: Array<[slot: number, calls: number]> = [];
    let n = 0;
    for (let i = 0; i < SLOTS; i++)
      if (u.callSlot[i]! > sec - SLOTS) {
        live.push([u.callSlot[i]!, u.calls[i]!]);
        n += u.calls[i]!;
      }
    live.sort((a, b) => a[0] - b[0]);
    for (const [slot, calls] of live) {
      n -= calls;
      if (n < limit) return Math.max(1, Math.ceil(slot + SLOTS - now / 1000));
    }
    return SLOTS;
  }

  /** Count a call that passed the policy (the rate limit counts what reaches the vendor). */
  recordCall(id: string, now = Date.now()): void {
    const u = this.get(id, now);
    const sec = Math.floor(now / 1000);
    const i = sec % SLOTS;
    if (u.callSlot[i] !== sec) {
      u.callSlot[i] = sec;
      u.calls[i] = 0;
    }
    u.calls[i]!++;
  }

  recordCost(id: string, usd: number, now = Date.now()): void {
    const u = this.get(id, now);
    u.spentToday += usd;
    const slot = Math.floor(now / 10_000);
    const i = slot % SLOTS;
    if (u.costSlot[i] !== slot) {
      u.costSlot[i] = slot;
      u.costs[i] = 0;
    }
    u.costs[i]! += usd;
  }

  /**
   * An unmetered call's estimate: it counts against today's cap, but not in the measured spend
   * of the last ten minutes (`/v1/rates`), which stays what the vendors' answers said.
   */
  chargeEstimate(id: string, usd: number, now = Date.now()): void {
    this.get(id, now).spentToday += usd;
  }

  spentToday(id: string, now = Date.now()): number {
    return this.get(id, now).spentToday;
  }

  /** Spend in the last ten minutes (ten-second resolution). */
  spent10m(id: string, now = Date.now()): number {
    const u = this.keys.get(id);
    if (!u) return 0;
    const slot = Math.floor(now / 10_000);
    let usd = 0;
    for (let i = 0; i < SLOTS; i++) if (u.costSlot[i]! > slot - SLOTS) usd += u.costs[i]!;
    return usd;
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }
}
