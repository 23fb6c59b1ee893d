import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, through, type Harness } from './helpers.js';

describe('audit API: filters, paging, the summary the damage report reads, rates', () => {
  let h: Harness;
  let a: any;
  let b: any;
  beforeAll(async () => {
    h = await startHarness();
    a = await h.issue({ vendor: 'stripe', agent_run_id: 'run_a', labels: { agent: 'refunder', owner: 'payments' } });
    b = await h.issue({ vendor: 'stripe', agent_run_id: 'run_b', daily_usd_cap: 15 });
    for (const [key, cus, amount] of [[a, 'cus_1', 1000], [a, 'cus_1', 2000], [a, 'cus_2', 500], [b, 'cus_3', 1000], [b, 'cus_3', 1000]] as const)
      await through(h.proxy.dataUrl, 'POST', '/v1/charges', key.secret, `amount=${amount}&currency=usd&customer=${cus}`);
    await through(h.proxy.dataUrl, 'GET', `/v1/charges`, a.secret);
  });
  afterAll(async () => h.stop());

  it('filters by vault key, run, customer and verdict; pages with a cursor', async () => {
    expect((await h.admin('GET', `/v1/audit?agent_run_id=run_a`)).body.data).toHaveLength(4);
    expect((await h.admin('GET', `/v1/audit?customer_scope_id=cus_1`)).body.data).toHaveLength(2);
    expect((await h.admin('GET', `/v1/audit?verdict=spend_cap_exceeded`)).body.data).toHaveLength(1);
    const p1 = await h.admin('GET', `/v1/audit?limit=4`);
    expect(p1.body.data).toHaveLength(4);
    const p2 = await h.admin('GET', `/v1/audit?limit=4&cursor=${p1.body.next_cursor}`);
    expect(p2.body.data).toHaveLength(2);
    expect(p2.body.next_cursor).toBeNull();
    const future = await h.admin('GET', `/v1/audit?from=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.body.data).toHaveLength(0);
    const row = p1.body.data[0];
    for (const col of ['id', 'started_at', 'finished_at', 'vault_key_id', 'agent_run_id', 'customer_scope_id', 'vendor', 'method', 'path', 'policy_verdict', 'vendor_status', 'cost_usd_parsed', 'upstream_key_id', 'latency_ms'])
      expect(row, col).toHaveProperty(col);
  });

  it('summary: counts by verdict, cost, customers, endpoints, per minute, runs, keys', async () => {
    const s = (await h.admin('GET', '/v1/audit/summary')).body;
    expect(s.calls_total).toBe(6);
    expect(s.by_verdict).toEqual({ allowed: 5, spend_cap_exceeded: 1 });
    expect(s.calls_allowed).toBe(5);
    expect(s.cost_usd).toBeCloseTo(45);
    expect(s.customers.find((c: any) => c.customer_scope_id === 'cus_1')).toMatchObject({ calls: 2, cost_usd: 30 });
    expect(s.endpoints).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/v1/charges', calls: 4, cost_usd: 45 },
        { method: 'GET', path: '/v1/charges', calls: 1, cost_usd: 0 },
      ]),
    );
    expect(s.per_minute.reduce((n: number, m: any) => n + m.calls, 0)).toBe(6);
    expect(s.per_minute[0].minute).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z$/);
    expect(s.first_call <= s.last_call).toBe(true);
    expect(s.agent_runs.find((r: any) => r.agent_run_id === 'run_a')).toMatchObject({ calls: 4, cost_usd: 35 });
    expect(s.vault_keys.find((r: any) => r.vault_key_id === b.id)).toMatchObject({ calls: 1, cost_usd: 10 });
    const onlyA = (await h.admin('GET', `/v1/audit/summary?vault_key_id=${a.id}`)).body;
    expect(onlyA.calls_total).toBe(4);
  });

  it('rates: live calls per minute per key, with baseline and 10-minute spend', async () => {
    const r = (await h.admin('GET', '/v1/rates')).body.data;
    const ra = r.find((x: any) => x.vault_key_id === a.id);
    expect(ra).toMatchObject({ agent: 'refunder', calls_per_minute: 4, baseline_per_minute: 0 });
    expect(ra.spend_usd_10m).toBeCloseTo(35);
  });

  it('list filters for vault keys', async () => {
    expect((await h.admin('GET', '/v1/vault-keys?agent=refunder')).body.data.map((k: any) => k.id)).toEqual([a.id]);
    expect((await h.admin('GET', '/v1/vault-keys?agent_run_id=run_b')).body.data.map((k: any) => k.id)).toEqual([b.id]);
    const all = (await h.admin('GET', '/v1/vault-keys?vendor=stripe&status=active')).body.data;
    expect(all).toHaveLength(2);
    expect(all[0]).not.toHaveProperty('secret');
    expect(all[0]).not.toHaveProperty('secret_hash');
  });

  it('daily cap survives a restart (spend seeded from the audit)', async () => {
    const { startProxy } = await import('../../src/proxy/index.js');
    await h.proxy.stop();
    const p = await startProxy({
      listen: '127.0.0.1:0', adminListen: '127.0.0.1:0', store: `sqlite:${h.dbPath}`, adminToken: 'admin-token-for-tests-0123456789',
      upstreams: h.sandbox.urls, log: false,
      upstreamKeys: [{ vendor: 'stripe', secret: h.sandbox.keys.stripe.secret, label: 'main', state: 'active' }],
    });
    try {
      const r = await through(p.dataUrl, 'POST', '/v1/charges', b.secret, 'amount=600&currency=usd&customer=cus_3');
      // Stripe's dialect: a cap is a permission refusal (403), never 402 (StripeCardError).
      expect([r.status, r.json.error.code]).toEqual([403, 'spend_cap_exceeded']);
    } finally {
      h.proxy = p as any;
    }
  });
});
