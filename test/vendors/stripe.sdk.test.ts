import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/** stripe-node through the proxy: money moved is the cost; a replay moves nothing; a cap is not a card decline. */
describe('Stripe SDK through the proxy', () => {
  let h: Harness;
  const client = (key: string, maxNetworkRetries = 0) => {
    const port = Number(new URL(h.proxy.dataUrl).port);
    return new Stripe(key, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries });
  };
  beforeAll(async () => {
    h = await vendorHarness();
  });
  afterAll(async () => h.stop());

  it('a refund replayed with the same Idempotency-Key is audited once as money moved ($15 moved, not $25)', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const stripe = client(vk.secret);
    const charge = await stripe.charges.create({ amount: 5000, currency: 'usd', source: 'tok_visa' });
    const first = await stripe.refunds.create(
      { charge: charge.id, amount: 1500 },
      { idempotencyKey: 'refund-order-42' },
    );
    const again = await stripe.refunds.create(
      { charge: charge.id, amount: 1500 },
      { idempotencyKey: 'refund-order-42' },
    );
    expect(again.id).toBe(first.id);
    const rows = await auditOf(h, vk.id);
    expect(rows.map((r) => r.cost_usd_parsed)).toEqual([50, 15, 0]);
  });

  it('reads and objects that move no money cost 0; an unconfirmed payment intent moves nothing until confirmed', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const stripe = client(vk.secret);
    const customer = await stripe.customers.create({ email: 'a@example.com' });
    await stripe.customers.retrieve(customer.id);
    const pi = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur', customer: customer.id });
    await stripe.paymentIntents.confirm(pi.id);
    const rows = await auditOf(h, vk.id);
    expect(rows.slice(0, 3).map((r) => r.cost_usd_parsed)).toEqual([0, 0, 0]);
    expect(rows[3].cost_usd_parsed).toBeCloseTo(20 * 1.14, 6);
  });

  it('refusals: revoked → StripeAuthenticationError, endpoint and spend cap → StripePermissionError (never StripeCardError), rate → StripeRateLimitError', async () => {
    const caught = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as Stripe.errors.StripeError,
      );
    const revoked = await h.issue({ vendor: 'stripe' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = await caught(client(revoked.secret).customers.list());
    expect(e1).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect([e1!.statusCode, e1!.code]).toEqual([401, 'vault_key_revoked']);

    const narrow = await h.issue({ vendor: 'stripe', allowed_endpoints: ['GET /v1/customers'] });
    const e2 = await caught(
      client(narrow.secret).charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa' }),
    );
    expect(e2).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(e2!.code).toBe('endpoint_not_allowed');

    const capped = await h.issue({ vendor: 'stripe', per_call_amount_cap: 20 });
    const e3 = await caught(client(capped.secret, 2).refunds.create({ charge: 'ch_x', amount: 2500 }));
    expect(e3).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(e3).not.toBeInstanceOf(Stripe.errors.StripeCardError);
    expect([e3!.statusCode, e3!.code]).toEqual([403, 'spend_cap_exceeded']);
    expect(e3!.message).toContain('per-call cap');
    expect((await auditOf(h, capped.id)).length).toBe(1); // Stripe-Should-Retry: false: not retried

    const slow = await h.issue({ vendor: 'stripe', calls_per_minute: 1 });
    await client(slow.secret).customers.list();
    const e4 = await caught(client(slow.secret).customers.list());
    expect(e4).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(e4!.code).toBe('rate_limited');
    const after = Number(e4!.headers?.['retry-after']);
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(60);
  });
});
