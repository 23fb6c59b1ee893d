import { describe, expect, it } from 'vitest';
import { UsageTracker } from '../../src/proxy/usage.js';

describe('usage counters', () => {
  it('calls per minute slide with one-second resolution; spend over ten minutes and today', () => {
    const u = new UsageTracker();
    const t0 = Date.parse('2026-11-22T02:14:00.000Z');
    for (let i = 0; i < 90; i++) u.recordCall('k', t0 + i * 1000); // one a second for 90 s
    expect(u.perMinute('k', t0 + 89_500)).toBe(60);
    expect(u.perMinute('k', t0 + 200_000)).toBe(0);
    u.recordCost('k', 5, t0);
    u.recordCost('k', 7, t0 + 9 * 60_000);
    expect(u.spent10m('k', t0 + 9 * 60_000)).toBe(12);
    expect(u.spent10m('k', t0 + 11 * 60_000)).toBe(7);
    expect(u.spentToday('k', t0 + 11 * 60_000)).toBe(12);
    expect(u.spentToday('k', t0 + 24 * 3600_000)).toBe(0); // a new UTC day
  });

  it('counts right at a high rate (its speed: npm run bench -- timing)', () => {
    const u = new UsageTracker();
    const t0 = Date.now();
    for (let i = 0; i < 200_000; i++) u.recordCall('k', t0 + i); // 1,000 calls a second for 200 s
    expect(u.perMinute('k', t0 + 199_999)).toBeGreaterThanOrEqual(59_000);
  });
});
