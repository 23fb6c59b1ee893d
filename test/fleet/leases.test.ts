import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/proxy/store/postgres.js';
import { FleetLimits } from '../../src/proxy/limits/fleet.js';
import { UsageTracker } from '../../src/proxy/usage.js';
import type { LiveVaultKey } from '../../src/proxy/state.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { freshDatabase, sleep, sql } from './fleet.js';

const key = (id: string, policy: Partial<LiveVaultKey>) =>
  ({ id, daily_usd_cap: null, calls_per_minute: null, per_call_amount_cap: null, ...policy }) as LiveVaultKey;

describe.skipIf(!pgAvailable())('budget and rate leases against PostgreSQL', () => {
  let cluster: PgCluster;
  const stores: PostgresStore[] = [];
  const limits: FleetLimits[] = [];
  beforeAll(async () => {
    cluster = await startPg();
  });
  afterAll(async () => {
    await Promise.all(limits.map((l) => l.close().catch(() => {})));
    await Promise.all(stores.map((s) => s.close()));
    cluster?.destroy();
  });
  const instance = async (url: string, name: string, idleReturnMs = 200, grantTimeoutMs = 1_000) => {
    const store = new PostgresStore(url, { notifications: false });
    await store.init();
    stores.push(store);
    const l = new FleetLimits(store, name, new UsageTracker(), () => {}, {
      usdSlice: 0.1,
      idleReturnMs,
      grantTimeoutMs,
    });
    limits.push(l);
    return { store, limits: l };
  };

  it('three instances, calls whose cost is known only afterwards, many at once: spend stays within $50 + one call each', async () => {
    const url = await freshDatabase(cluster.url, 'leases_bound');
    const fleet = await Promise.all(['i1', 'i2', 'i3'].map((n) => instance(url, n)));
    const k = key('vk_id_bound', { daily_usd_cap: 50 });
    let spent = 0;
    let refused = 0;
    const costs = [0.5, 1.25, 2, 0.75, 1.9];
    const agent = async (i: number) => {
      for (let n = 0; refused < 30; n++) {
        const l = fleet[(i + n) % 3]!.limits;
        const a = await l.admit(k, null, 'POST /v1/refunds');
        if (!a.ok) {
          expect(a.refusal.code).toBe('spend_cap_exceeded');
          refused++;
          continue;
        }
        await sleep(2 + (n % 5)); // the vendor at work
        const cost = costs[(i * 7 + n) % costs.length]!;
        spent += cost;
        l.settle(a.ticket, cost);
      }
    };
    await Promise.all(Array.from({ length: 9 }, (_, i) => agent(i)));
    expect(spent).toBeLessThanOrEqual(50 + 3 * 2);
    expect(spent).toBeGreaterThanOrEqual(50 - 3 * 5); // at most one slice ($5) left unused per instance
    // the store's account agrees: what was granted and used never passes the cap by more than the overruns
    await Promise.all(fleet.map((f) => f.limits.close()));
    const [row] = await sql(
      url,
      `SELECT sum(COALESCE(used, amount))::float8 AS total FROM budget_grants WHERE vault_key_id = 'vk_id_bound' AND kind = 'usd'`,
    );
    expect(Math.abs(row.total - spent)).toBeLessThan(1e-6);
  });

  it('calls that cost nothing on a capped key are not held back: once one is seen to cost $0, the rest run side by side', async () => {
    const url = await freshDatabase(cluster.url, 'leases_free');
    const { limits: l } = await instance(url, 'free');
    const k = key('vk_id_free', { daily_usd_cap: 50 });
    const first = await l.admit(k, null, 'GET /v1/customers');
    expect(first.ok).toBe(true);
    // an endpoint never seen settle runs alone: a second one waits until the first settles
    let secondDone = false;
    const second = l.admit(k, null, 'GET /v1/customers').then((a) => ((secondDone = true), a));
    await sleep(50);
    expect(secondDone).toBe(false);
    expect(l.held().usd).toBeLessThanOrEqual(5); // waiting, not asking the store for more budget meanwhile
    if (first.ok) l.settle(first.ticket, 0);
    expect((await second).ok).toBe(true);
    // now known to cost nothing: twenty at once, all let through without waiting for one another
    const many = await Promise.all(Array.from({ length: 20 }, () => l.admit(k, null, 'GET /v1/customers')));
    expect(many.every((a) => a.ok)).toBe(true);
  });

  it('calls that could not be metered are charged their estimate across the fleet: a $50 cap, $5 each, two instances: ten calls, then refused', async () => {
    const url = await freshDatabase(cluster.url, 'leases_unmetered');
    const fleet = await Promise.all(['u1', 'u2'].map((n) => instance(url, n)));
    const k = key('vk_id_unmetered', { daily_usd_cap: 50, per_call_amount_cap: 5 });
    let allowed = 0;
    for (let n = 0; n < 40; n++) {
      const l = fleet[n % 2]!.limits;
      const a = await l.admit(k, null, 'POST /v1/chat/completions');
      if (!a.ok) {
        expect(a.refusal.code).toBe('spend_cap_exceeded');
        continue;
      }
      expect(a.ticket.estimateUsd).toBe(5);
      allowed++;
      l.settle(a.ticket, null); // forwarded, no cost in the answer
    }
    expect(allowed).toBe(10);
    // the store counts the estimates as used: a fresh instance has nothing left either
    await Promise.all(fleet.map((f) => f.limits.close()));
    const [row] = await sql(
      url,
      `SELECT sum(COALESCE(used, amount))::float8 AS total FROM budget_grants WHERE vault_key_id = 'vk_id_unmetered' AND kind = 'usd'`,
    );
    expect(row.total).toBeCloseTo(50, 6);
    const late = await (await instance(url, 'u3')).limits.admit(k, null, 'POST /v1/chat/completions');
    expect(late.ok ? 'admitted' : late.refusal.code).toBe('spend_cap_exceeded');
  });

  it('a call admitted but never forwarded is not charged (released, not settled)', async () => {
    const url = await freshDatabase(cluster.url, 'leases_released');
    const { limits: l } = await instance(url, 'r1', 60_000);
    const k = key('vk_id_released', { daily_usd_cap: 50, per_call_amount_cap: 5 });
    for (let n = 0; n < 30; n++) {
      const a = await l.admit(k, null, 'POST /v1/chat/completions');
      expect(a.ok).toBe(true);
      if (a.ok) l.release(a.ticket);
    }
    // all $50 still there: ten calls settled unmetered, then the cap
    const settled = [];
    for (let n = 0; n < 11; n++) {
      const a = await l.admit(k, null, 'POST /v1/chat/completions');
      settled.push(a.ok ? 'admitted' : a.refusal.code);
      if (a.ok) l.settle(a.ticket, null);
    }
    expect(settled).toEqual([...Array(10).fill('admitted'), 'spend_cap_exceeded']);
  });

  it("the day's first grant starts from the audit, where unmetered and outcome-unknown calls count at their estimate", async () => {
    const url = await freshDatabase(cluster.url, 'leases_audit');
    const { store } = await instance(url, 'a0');
    const now = new Date().toISOString();
    const row = (cost: number | null, estimate: number | null, outcome: string) =>
      store.appendAudit([
        {
          started_at: now,
          finished_at: now,
          vault_key_id: 'vk_id_audited',
          agent_run_id: null,
          customer_scope_id: null,
          vendor: 'openai',
          method: 'POST',
          path: '/v1/chat/completions',
          policy_verdict: 'allowed',
          vendor_status: 200,
          cost_usd_parsed: cost,
          upstream_key_id: null,
          latency_ms: 1,
          instance_id: 'dead',
          call_id: `dead.${Math.random()}`,
          outcome: outcome as 'complete',
          amount_usd_estimated: estimate,
        },
      ]);
    await row(10, 4, 'complete'); // metered: its cost counts, not its estimate
    await row(null, 20, 'complete'); // not metered: its estimate
    await row(null, 15, 'unknown'); // forwarded, outcome unknown: its estimate
    const { limits: l } = await instance(url, 'a1');
    const k = key('vk_id_audited', { daily_usd_cap: 50 });
    const big = await l.admit(k, 5.01, 'POST /v1/charges');
    expect(big.ok ? 'admitted' : big.refusal.code).toBe('spend_cap_exceeded');
    expect((await l.admit(k, 5, 'POST /v1/charges')).ok).toBe(true);
  });

  it('a grant that arrives after the instance gave up on it is given back, not lost to the limit', async () => {
    const url = await freshDatabase(cluster.url, 'leases_late');
    const { store, limits: l } = await instance(url, 'impatient', 200, 50);
    // Every grant is made in the store and answered 300 ms later, past the instance's 50 ms deadline.
    for (const name of ['grantCalls', 'grantUsd'] as const) {
      const grant = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        const answer = await grant(...args);
        await sleep(300);
        return answer;
      };
    }
    for (const k of [key('vk_id_late_usd', { daily_usd_cap: 50 }), key('vk_id_late_calls', { calls_per_minute: 60 })]) {
      const a = await l.admit(k, 1, 'POST /v1/charges');
      expect(a.ok ? 'admitted' : a.refusal.code).toBe('store_unavailable');
    }
    // the grants the store made anyway go back with nothing used
    for (let t0 = Date.now(); ; await sleep(50)) {
      const rows = await sql(
        url,
        `SELECT kind, amount, used, returned_at IS NOT NULL AS back FROM budget_grants WHERE instance_id = 'impatient' ORDER BY kind`,
      );
      if (rows.length === 2 && rows.every((r) => r.back)) {
        expect(rows.map((r) => [r.kind, r.used])).toEqual([
          ['calls', 0],
          ['usd', 0],
        ]);
        break;
      }
      if (Date.now() - t0 > 10_000) throw new Error(`grants not given back: ${JSON.stringify(rows)}`);
    }
  });

  it('PostgreSQL stopped: the leases held keep serving, not one call more, and no new lease', async () => {
    const url = await freshDatabase(cluster.url, 'leases_down');
    const { limits: l } = await instance(url, 'solo', 60_000); // (nothing given back while we look)
    const dollars = key('vk_id_down_usd', { daily_usd_cap: 50 });
    const calls = key('vk_id_down_calls', { calls_per_minute: 600 });
    for (let i = 0; i < 2; i++) {
      const a = await l.admit(dollars, 1.5, 'POST /v1/charges');
      expect(a.ok).toBe(true);
      if (a.ok) l.settle(a.ticket, 1.5);
    }
    for (let i = 0; i < 30; i++) expect((await l.admit(calls, null, 'GET /v1/customers')).ok).toBe(true);
    const held = l.held();
    expect(held.usd).toBeCloseTo(5 - 3, 6); // one $5 slice, $3 of it spent
    expect(held.calls).toBeGreaterThan(0);

    cluster.stop('immediate');
    try {
      // $2 held: one more $1.50 call, then nothing; the calls lease until it runs out (or expires)
      const first = await l.admit(dollars, 1.5, 'POST /v1/charges');
      expect(first.ok).toBe(true);
      const second = await l.admit(dollars, 1.5, 'POST /v1/charges');
      expect(second.ok ? 'admitted' : second.refusal.code).toBe('store_unavailable');
      let more = 0;
      for (;;) {
        const a = await l.admit(calls, null, 'GET /v1/customers');
        if (!a.ok) {
          expect(a.refusal.code).toBe('store_unavailable');
          break;
        }
        more++;
      }
      expect(more).toBeLessThanOrEqual(held.calls);
    } finally {
      cluster.start();
    }
  });
});
