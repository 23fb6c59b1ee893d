import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startHarness, through, type Harness } from './helpers.js';

describe('audit API: filters, paging, the summary the damage report reads, rates', () => {
  let h: Harness;
  let a: any;
  let b: any;
  beforeAll(async () => {
    h = await startHarness();
    a = await h.issue({ vendor: 'stripe', agent_run_id: 'run_a', labels: { agent: 'refunder', owner: 'payments' } });
    b = await h.issue({ vendor: 'stripe', agent_run_id: 'run_b', daily_usd_cap: 15 });
    for (const [key, cus, amount] of [
      [a, 'cus_1', 1000],
      [a, 'cus_1', 2000],
      [a, 'cus_2', 500],
      [b, 'cus_3', 1000],
      [b, 'cus_3', 1000],
    ] as const)
      await through(
        h.proxy.dataUrl,
        'POST',
        '/v1/charges',
        key.secret,
        `amount=${amount}&currency=usd&customer=${cus}`,
      );
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
    for (const col of [
      'id',
      'started_at',
      'finished_at',
      'vault_key_id',
      'agent_run_id',
      'customer_scope_id',
      'vendor',
      'method',
      'path',
      'policy_verdict',
      'vendor_status',
      'cost_usd_parsed',
      'upstream_key_id',
      'latency_ms',
    ])
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
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${h.dbPath}`,
      adminToken: 'admin-token-for-tests-0123456789',
      upstreams: h.sandbox.urls,
      log: false,
      upstreamKeys: [{ vendor: 'stripe', secret: h.sandbox.keys.stripe.secret, label: 'main', state: 'active' }],
    });
    try {
      const r = await through(p.dataUrl, 'POST', '/v1/charges', b.secret, 'amount=600&currency=usd&customer=cus_3');
      // Stripe's dialect: a cap is a permission refusal (403), never 402 (StripeCardError).
      expect([r.status, r.json.error.code]).toEqual([403, 'spend_cap_exceeded']);
    } finally {
      h.proxy = p;
    }
  });
});

describe('write-ahead audit rows', () => {
  it('a forwarded call: its row is written pending before the vendor sees it and completed with the outcome', async () => {
    const { SqliteStore } = await import('../../src/proxy/store/sqlite.js');
    const h = await startHarness();
    try {
      const vk = await h.issue({ vendor: 'stripe', agent_run_id: 'run_wa' });
      // The vendor looks the row up at the moment the call reaches it.
      const seenAtVendor: Array<string | undefined> = [];
      const peek = new SqliteStore(h.dbPath);
      await peek.init();
      h.sandbox.stripe.server.prependListener('request', (req: { url?: string }) => {
        if (!req.url?.startsWith('/v1/charges')) return;
        void peek
          .queryAudit({ agent_run_id: 'run_wa' }, 10, null)
          .then((p) => seenAtVendor.push(p.data.at(-1)?.outcome));
      });
      const r = await through(
        h.proxy.dataUrl,
        'POST',
        '/v1/charges',
        vk.secret,
        'amount=2500&currency=usd&customer=cus_wa',
      );
      expect(r.status).toBe(200);
      expect(seenAtVendor).toEqual(['pending']);
      const rows = (await h.admin('GET', '/v1/audit?agent_run_id=run_wa')).body.data;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        outcome: 'complete',
        policy_verdict: 'allowed',
        vendor_status: 200,
        amount_usd_estimated: 25,
        call_id: expect.stringMatching(/^inst_\w+\.\w+$/),
      });
      await peek.close();
    } finally {
      await h.stop();
    }
  });

  it('rows left pending by a process that died read as outcome unknown after a restart, counted in the summary', async () => {
    const { SqliteStore } = await import('../../src/proxy/store/sqlite.js');
    const { startProxy } = await import('../../src/proxy/index.js');
    const h = await startHarness();
    try {
      await h.proxy.stop();
      // Given two intent rows of a process that was killed before their outcomes were written
      const s = new SqliteStore(h.dbPath);
      await s.init();
      const base = {
        finished_at: '2026-11-22T02:14:00.000Z',
        vault_key_id: 'vk_id_x',
        agent_run_id: 'run_dead',
        customer_scope_id: null,
        vendor: 'stripe',
        method: 'POST',
        path: '/v1/refunds',
        policy_verdict: 'allowed' as const,
        vendor_status: 0,
        cost_usd_parsed: null,
        upstream_key_id: null,
        latency_ms: 0,
        instance_id: 'inst_dead',
        outcome: 'pending' as const,
      };
      await s.appendAudit([
        { ...base, started_at: '2026-11-22T02:14:00.000Z', call_id: 'inst_dead.1', amount_usd_estimated: 120 },
        { ...base, started_at: '2026-11-22T02:14:01.000Z', call_id: 'inst_dead.2', amount_usd_estimated: 80 },
        { ...base, started_at: '2026-11-22T02:14:02.000Z', call_id: 'inst_dead.3', amount_usd_estimated: 5 },
      ]);
      // (and one that did complete; a repeated batch is not written twice)
      await s.appendAudit(
        [{ ...base, started_at: '2026-11-22T02:14:02.000Z', call_id: 'inst_dead.3', amount_usd_estimated: 5 }],
        [
          {
            call_id: 'inst_dead.3',
            finished_at: '2026-11-22T02:14:02.300Z',
            policy_verdict: 'allowed',
            vendor_status: 200,
            cost_usd_parsed: 5,
            latency_ms: 300,
          },
        ],
      );
      await s.close();
      // When the proxy starts again on the file
      h.proxy = await startProxy({
        listen: '127.0.0.1:0',
        adminListen: '127.0.0.1:0',
        store: `sqlite:${h.dbPath}`,
        adminToken: 'admin-token-for-tests-0123456789',
        log: false,
      });
      // Then they are forwarded-outcome-unknown: in the rows, and in the summary with what they asked to move
      const rows = (await h.admin('GET', '/v1/audit?agent_run_id=run_dead')).body.data;
      expect(rows.map((r: any) => [r.call_id, r.outcome])).toEqual([
        ['inst_dead.1', 'unknown'],
        ['inst_dead.2', 'unknown'],
        ['inst_dead.3', 'complete'],
      ]);
      const sum = (await h.admin('GET', '/v1/audit/summary?agent_run_id=run_dead')).body;
      expect(sum.outcome_unknown).toEqual({ calls: 2, amount_usd_estimated: 200, pending: 0 });
      expect(sum.calls_total).toBe(3);
    } finally {
      await h.stop();
    }
  });

  it('a store file from before write-ahead audit gets the new columns at start; its rows read as complete', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { SqliteStore } = await import('../../src/proxy/store/sqlite.js');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = join(mkdtempSync(join(tmpdir(), 'tq-old-')), 'old.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE agent_call_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, vault_key_id TEXT, agent_run_id TEXT,
      customer_scope_id TEXT, vendor TEXT, method TEXT NOT NULL, path TEXT NOT NULL, policy_verdict TEXT NOT NULL, vendor_status INTEGER NOT NULL,
      cost_usd_parsed REAL, upstream_key_id TEXT, latency_ms REAL NOT NULL, instance_id TEXT NOT NULL);
      INSERT INTO agent_call_audit (started_at, finished_at, method, path, policy_verdict, vendor_status, latency_ms, instance_id)
      VALUES ('2026-11-22T02:14:00.000Z', '2026-11-22T02:14:00.100Z', 'POST', '/v1/refunds', 'allowed', 200, 100, 'inst_old');`);
    old.close();
    const s = new SqliteStore(path);
    await s.init();
    const page = await s.queryAudit({}, 10, null);
    expect(page.data[0]).toMatchObject({ outcome: 'complete', call_id: null, amount_usd_estimated: null });
    expect((await s.summarizeAudit({})).outcome_unknown).toEqual({ calls: 0, amount_usd_estimated: 0, pending: 0 });
    await s.close();
  });
});
