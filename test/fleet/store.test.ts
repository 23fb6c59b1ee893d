import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../../src/proxy/store/postgres.js';
import type { AuditRow, VaultKeyRecord } from '../../src/proxy/store/types.js';
import { StoreUnavailableError } from '../../src/proxy/store/types.js';
import { parsePayload } from '../../src/proxy/store/postgres-listen.js';
import { PostgresSource } from '../../src/core/damage/sources/postgres.js';
import { DEFAULT_TABLE, defaultColumns } from '../../src/core/damage/columns.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { allMigrations } from '../../src/proxy/store/postgres-schema.js';
import { SecretSealer } from '../../src/proxy/crypto/sealer.js';
import { testKeyring } from '../helpers/master-key.js';

const key = (id: string, extra: Partial<VaultKeyRecord> = {}): VaultKeyRecord => ({
  id,
  secret_hash: `hash_${id}`,
  secret_hint: 'a1b2',
  vendor: 'stripe',
  upstream_key_id: null,
  agent_run_id: 'run_1',
  labels: { agent: 'refunder' },
  allowed_endpoints: ['POST /v1/refunds'],
  daily_usd_cap: 100,
  per_call_amount_cap: null,
  calls_per_minute: 60,
  customer_id_path: null,
  status: 'active',
  created_at: '2026-11-22T02:00:00.000Z',
  expires_at: null,
  revoked_at: null,
  revoke_mode: null,
  rolled_from: null,
  ...extra,
});

const row = (i: number, extra: Partial<AuditRow> = {}): AuditRow => ({
  started_at: new Date(Date.UTC(2026, 10, 22, 2, 14, 0, i)).toISOString(),
  finished_at: new Date(Date.UTC(2026, 10, 22, 2, 14, 0, i + 5)).toISOString(),
  vault_key_id: 'vk_id_a',
  agent_run_id: 'run_1',
  customer_scope_id: i % 2 ? 'cus_1' : 'cus_2',
  vendor: 'stripe',
  method: 'POST',
  path: '/v1/refunds',
  policy_verdict: 'allowed',
  vendor_status: 200,
  cost_usd_parsed: 1.5,
  upstream_key_id: 'up_1',
  latency_ms: 3.25,
  instance_id: 'inst_a',
  ...extra,
});

describe('notification payloads', () => {
  it('reads a bare revision, a revoke hint, and ignores garbage', () => {
    expect(parsePayload('42')).toEqual({ revision: 42, hint: null });
    expect(parsePayload('{"r":7,"k":["vk_id_a"],"m":"hard","at":"2026-11-22T02:15:00.000Z"}')).toEqual({
      revision: 7,
      hint: { revision: 7, ids: ['vk_id_a'], mode: 'hard', at: '2026-11-22T02:15:00.000Z' },
    });
    expect(parsePayload('{"r":8,"k":[],"m":"soft","at":"x"}')).toEqual({ revision: 8, hint: null });
    expect(parsePayload('{nope')).toBeNull();
    expect(parsePayload('abc')).toBeNull();
    expect(parsePayload(undefined)).toBeNull();
  });
});

describe.skipIf(!pgAvailable())('PostgreSQL store', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPg();
  });
  afterAll(() => cluster?.destroy());

  it('runs migrations once when several instances start at the same moment', async () => {
    const stores = Array.from({ length: 6 }, () => new PostgresStore(cluster.url, { notifications: false }));
    await Promise.all(stores.map((s) => s.init()));
    const c = new pg.Client({ connectionString: cluster.url });
    await c.connect();
    const { rows } = await c.query('SELECT version FROM tourniquet_migrations ORDER BY version');
    const idx = await c.query(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'agent_call_audit' ORDER BY indexname`,
    );
    await c.end();
    await Promise.all(stores.map((s) => s.close()));
    // every migration applied exactly once, whatever the number of instances racing
    expect(rows.map((r) => r.version)).toEqual(allMigrations().map((m) => m.version));
    expect(idx.rows.map((r) => r.indexname)).toEqual(
      expect.arrayContaining(['audit_started', 'audit_key', 'audit_run', 'audit_customer']),
    );
  });

  it('stores keys, bumps the revision, and notifies other stores in the same transaction', async () => {
    const a = new PostgresStore(cluster.url);
    const b = new PostgresStore(cluster.url);
    await Promise.all([a.init(), b.init()]);
    try {
      const heard: number[] = [];
      const hints: unknown[] = [];
      b.onChange((rev) => rev > 0 && heard.push(rev));
      b.onRevoked((h) => hints.push(h));
      await new Promise((r) => setTimeout(r, 200)); // b's LISTEN connection is up
      const r0 = await a.revision();
      await a.insertVaultKey(key('vk_id_1'));
      await a.insertVaultKey(key('vk_id_2', { secret_hash: 'h2', labels: {} }));
      const res = await a.revokeVaultKeys(['vk_id_1', 'vk_id_1', 'vk_id_nope'], '2026-11-22T02:15:00.000Z', 'hard');
      expect(res).toEqual({
        revoked: ['vk_id_1'],
        already_revoked: [],
        not_found: ['vk_id_nope'],
        previous: {},
        revision: r0 + 3,
      });
      // a repeat says when and how the store has it revoked (the first time wins)
      expect(await a.revokeVaultKeys(['vk_id_1'], '2026-11-22T02:16:00.000Z', 'soft')).toEqual({
        revoked: [],
        already_revoked: ['vk_id_1'],
        not_found: [],
        previous: { vk_id_1: { revoked_at: '2026-11-22T02:15:00.000Z', revoke_mode: 'hard', revision: r0 + 3 } },
      });
      // (a repeated revoke changes nothing but may still take a revision number)
      const changes = await b.changesSince(r0 + 2);
      expect(changes.revision).toBe(r0 + 4);
      expect(changes.vault_keys).toHaveLength(1);
      expect(changes.vault_keys[0]).toMatchObject({
        id: 'vk_id_1',
        status: 'revoked',
        revoke_mode: 'hard',
        revoked_at: '2026-11-22T02:15:00.000Z',
        allowed_endpoints: ['POST /v1/refunds'],
        labels: { agent: 'refunder' },
      });
      await new Promise((r) => setTimeout(r, 100));
      expect(heard).toEqual([r0 + 1, r0 + 2, r0 + 3, r0 + 4]);
      // the revoke's notification names the key, so other instances flip it before fetching
      expect(hints).toEqual([{ revision: r0 + 3, ids: ['vk_id_1'], mode: 'hard', at: '2026-11-22T02:15:00.000Z' }]);
      a.useSealer(new SecretSealer(testKeyring())); // a secret is stored only sealed
      await a.insertUpstreamKey({
        id: 'up_1',
        vendor: 'stripe',
        state: 'standby',
        hint: 'sk_…1',
        label: null,
        account_sid: null,
        secret: null,
        created_at: 'x',
        updated_at: 'x',
      });
      await a.insertUpstreamKey({
        id: 'up_2',
        vendor: 'stripe',
        state: 'standby',
        hint: 'sk_…2',
        label: null,
        account_sid: null,
        secret: 's',
        created_at: 'y',
        updated_at: 'y',
      });
      await a.promoteUpstreamKey('up_1', 'z1');
      expect((await a.promoteUpstreamKey('up_2', 'z2'))?.state).toBe('active');
      expect((await b.listUpstreamKeys({ vendor: 'stripe' })).map((u) => u.state)).toEqual(['standby', 'active']);
      expect(await a.promoteUpstreamKey('up_none', 'z')).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('appends an audit batch in one statement and answers the damage queries', async () => {
    const s = new PostgresStore(cluster.url, { notifications: false });
    await s.init();
    try {
      await s.appendAudit(Array.from({ length: 500 }, (_, i) => row(i)));
      await s.appendAudit([
        row(600, { policy_verdict: 'vault_key_revoked', vendor_status: 0, cost_usd_parsed: null }),
        row(0, { started_at: '2026-11-20T10:00:00.000Z' }),
      ]);
      const page = await s.queryAudit({ vault_key_id: 'vk_id_a', from: '2026-11-22T00:00:00.000Z' }, 400, null);
      expect(page.data).toHaveLength(400);
      expect(page.data[0]).toMatchObject({
        started_at: '2026-11-22T02:14:00.000Z',
        latency_ms: 3.25,
        vendor_status: 200,
      });
      const next = await s.queryAudit(
        { vault_key_id: 'vk_id_a', from: '2026-11-22T00:00:00.000Z' },
        400,
        page.next_cursor,
      );
      expect(next.data).toHaveLength(101);
      const sum = await s.summarizeAudit({ from: '2026-11-22T00:00:00.000Z' });
      expect(sum).toMatchObject({
        calls_total: 501,
        calls_allowed: 500,
        cost_usd: 750,
        by_verdict: { allowed: 500, vault_key_revoked: 1 },
      });
      expect(sum.per_minute).toEqual([
        { minute: '2026-11-22T02:14:00.000Z', calls: 501, cost_usd: 750, calls_cost_unknown: 0 },
      ]);
      expect(sum.after_revoke).toBeUndefined();
      // With a revoke time, the after-revoke counts come from the same snapshot (rows 300.. later, 296–299 in flight).
      const split = await s.summarizeAudit({ from: '2026-11-22T00:00:00.000Z' }, '2026-11-22T02:14:00.300Z');
      expect(split).toMatchObject({ calls_total: 501, after_revoke: { later: 201, later_allowed: 200, in_flight: 4 } });
      expect(sum.customers).toEqual([
        { customer_scope_id: 'cus_1', calls: 250, cost_usd: 375 },
        { customer_scope_id: 'cus_2', calls: 250, cost_usd: 375 },
      ]);
      expect((await s.spendByVaultKey('2026-11-22T00:00:00.000Z')).get('vk_id_a')).toBe(750);
      // `tourniquet damage --source postgres://…` reads the fleet's table as it is (default column names)
      const damage = new PostgresSource(cluster.url, DEFAULT_TABLE, defaultColumns());
      const agg = await damage.aggregate({ vault_key_id: 'vk_id_a', from: Date.parse('2026-11-22T00:00:00.000Z') });
      expect(agg).toMatchObject({ calls_total: 501, cost_micros: 750_000_000 });
      expect(await s.pruneAuditBefore('2026-11-21')).toBe(1);
    } finally {
      await s.close();
    }
  });

  it("write-ahead rows: pending, completed by an outcome, idempotent on call_id; a dead instance's pending rows swept to unknown", async () => {
    const s = new PostgresStore(cluster.url, { notifications: false, instanceTtlMs: 1_000 });
    await s.init();
    try {
      const pending = (i: number, inst: string) =>
        row(i, {
          call_id: `${inst}.${i}`,
          outcome: 'pending',
          vendor_status: 0,
          cost_usd_parsed: null,
          amount_usd_estimated: 10,
          agent_run_id: `run_${inst}`,
          instance_id: inst,
          started_at: new Date(Date.now() - 10_000).toISOString(),
        });
      await s.appendAudit([pending(1, 'inst_live'), pending(2, 'inst_live'), pending(3, 'inst_gone')]);
      await s.heartbeat({
        instance_id: 'inst_live',
        data_plane_url: 'http://x',
        admin_url: 'http://y',
        started_at: 'z',
        last_sync_at: 'z',
      });
      // a batch retried after a lost acknowledgement: the rows are there once; the outcome completes one
      await s.appendAudit(
        [pending(1, 'inst_live')],
        [
          {
            call_id: 'inst_live.1',
            finished_at: new Date().toISOString(),
            policy_verdict: 'allowed',
            vendor_status: 200,
            cost_usd_parsed: 7.5,
            latency_ms: 12,
          },
        ],
      );
      expect(await s.sweepOutcomes('inst_self')).toBe(1);
      const rows = (
        await s.queryAudit({ vendor: 'stripe', from: new Date(Date.now() - 60_000).toISOString() }, 10, null)
      ).data;
      expect(rows.map((r) => [r.call_id, r.outcome, r.vendor_status])).toEqual([
        ['inst_live.1', 'complete', 200],
        ['inst_live.2', 'pending', 0],
        ['inst_gone.3', 'unknown', 0],
      ]);
      const sum = await s.summarizeAudit({ from: new Date(Date.now() - 60_000).toISOString() });
      expect(sum.outcome_unknown).toEqual({ calls: 2, amount_usd_estimated: 20, pending: 1 });
    } finally {
      await s.close();
    }
  });

  it('reports an unreachable database as StoreUnavailableError', async () => {
    const s = new PostgresStore('postgres://postgres@127.0.0.1:1/postgres', { notifications: false });
    await expect(s.init()).rejects.toBeInstanceOf(StoreUnavailableError);
    await s.close();
  });
});
