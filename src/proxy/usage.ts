/**
 * Per-vault-key counters in memory: calls in the last minute (rate limit, `/v1/rates`),
 * spend today (daily cap) and spend in the last ten minutes. Seeded from the store at start.
 */
interface KeyUsage {
  /** Timestamps (ms) of calls in the last 10 minutes, oldest first. */
  calls: number[];
  /** [ms, usd] of costed calls in the last 10 minutes. */
  costs: Array<[number, number]>;
  day: string;
  spentToday: number;
}

const TEN_MIN = 10 * 60_000;

export class UsageTracker {
  private readonly keys = new Map<string, KeyUsage>();

  private get(id: string, now: number): KeyUsage {
    let u = this.keys.get(id);
    const day = new Date(now).toISOString().slice(0, 10);
    if (!u) this.keys.set(id, (u = { calls: [], costs: [], day, spentToday: 0 }));
    if (u.day !== day) (u.day = day), (u.spentToday = 0);
    return u;
  }

  private prune(u: KeyUsage, now: number): void {
    let i = 0;
    while (i < u.calls.length && u.calls[i]! <= now - TEN_MIN) i++;
    if (i) u.calls.splice(0, i);
    let j = 0;
    while (j < u.costs.length && u.costs[j]![0] <= now - TEN_MIN) j++;
    if (j) u.costs.splice(0, j);
  }

  seedSpend(id: string, usd: number, now = Date.now()): void {
    this.get(id, now).spentToday = usd;
  }

  /** Calls in the 60 s before `now`. */
  perMinute(id: string, now = Date.now()): number {
    const u = this.keys.get(id);
    if (!u) return 0;
    let n = 0;
    for (let i = u.calls.length - 1; i >= 0 && u.calls[i]! > now - 60_000; i--) n++;
    return n;
  }

  /** Count a call that passed the policy (the rate limit counts what reaches the vendor). */
  recordCall(id: string, now = Date.now()): void {
    const u = this.get(id, now);
    u.calls.push(now);
    if (u.calls.length > 4096) this.prune(u, now);
  }

  recordCost(id: string, usd: number, now = Date.now()): void {
    const u = this.get(id, now);
    u.spentToday += usd;
    u.costs.push([now, usd]);
  }

  spentToday(id: string, now = Date.now()): number {
    return this.get(id, now).spentToday;
  }

  spent10m(id: string, now = Date.now()): number {
    const u = this.keys.get(id);
    if (!u) return 0;
    this.prune(u, now);
    return u.costs.reduce((s, [, usd]) => s + usd, 0);
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }
}
