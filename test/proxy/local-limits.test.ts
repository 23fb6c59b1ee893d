import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, through, type Harness } from './helpers.js';

const vendorCalls = (h: Harness) => h.sandbox.stripe.keys.stats().find((k) => k.id === h.sandbox.keys.stripe.id)!.calls;

describe('limits on one instance (the embedded store): exact, even when calls race', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a $5 daily cap and ten $1.50 charges at once: exactly three reach the vendor', async () => {
    const vk = await h.issue({ vendor: 'stripe', daily_usd_cap: 5 });
    const before = vendorCalls(h);
    const body = 'amount=150&currency=usd&source=tok_visa';
    const results = await Promise.all(
      Array.from({ length: 10 }, () => through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, body)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    // (refused in Stripe's own dialect, the code saying why)
    expect(results.filter((r) => r.status !== 200).map((r) => r.json.error.code)).toEqual(
      Array(7).fill('spend_cap_exceeded'),
    );
    expect(vendorCalls(h) - before).toBe(3);
  });

  it('5 calls a minute and twenty at once: exactly five reach the vendor', async () => {
    const vk = await h.issue({ vendor: 'stripe', calls_per_minute: 5 });
    const before = vendorCalls(h);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status !== 200).map((r) => r.json.error.code)).toEqual(
      Array(15).fill('rate_limited'),
    );
    expect(vendorCalls(h) - before).toBe(5);
  });
});
