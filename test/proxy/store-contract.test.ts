import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/proxy/store/sqlite.js';
import { MemoryStore } from '../../src/proxy/store/memory.js';
import type { AuditRow, ProxyStore, UpstreamKeyRecord, VaultKeyRecord } from '../../src/proxy/store/types.js';

/**
 * The demo's in-memory store against the SQLite store: the same calls, in the same order, must
 * give the same answers, call by call (revisions, revokes, rolls, promotes, audit pages and
 * cursors, summaries, per-key sums, change sets, instances). SQLite is the reference.
 */
const key = (id: string, extra: Partial<VaultKeyRecord> = {}): VaultKeyRecord => ({
  id,
  secret_hash: `hash_${id}`,
  secret_hint: 'a1b2',
  vendor: 'stripe',
  upstream_key_id: null,
  agent_run_id: 'run_1',
  labels: { agent: 'refunder', owner: 'payments' },
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

const up = (id: string, vendor: string, state: UpstreamKeyRecord['state'], created: string): UpstreamKeyRecord => ({
  id,
  vendor,
  state,
  hint: `sk_…${id.slice(-4)}`,
  label: null,
  account_sid: null,
  secret: null,
  created_at: created,
  updated_at: created,
});

/** Rows over three minutes, three keys, refused and allowed, priced and not, ids in paths. */
function rows(): AuditRow[] {
  return Array.from({ length: 240 }, (_, i) => ({
    started_at: new Date(Date.UTC(2026, 10, 22, 2, 13 + Math.floor(i / 90), i % 60, i)).toISOString(),
    finished_at: new Date(Date.UTC(2026, 10, 22, 2, 13 + Math.floor(i / 90), i % 60, i + 40)).toISOString(),
    vault_key_id: i % 7 === 0 ? null : `vk_${i % 3}`,
    agent_run_id: i % 5 === 0 ? null : `run_${i % 2}`,
    customer_scope_id: i % 4 === 0 ? null : `cus_${i % 6}`,
    vendor: i % 9 === 0 ? 'openai' : 'stripe',
    method: i % 3 === 0 ? 'GET' : 'POST',
    path: i % 3 === 0 ? `/v1/charges/ch_${1000 + i}` : '/v1/refunds',
    policy_verdict: i % 11 === 0 ? 'vault_key_revoked' : i % 13 === 0 ? 'rate_limited' : 'allowed',
    vendor_status: i % 11 === 0 ? 0 : 200,
    cost_usd_parsed: i % 11 === 0 || i % 3 === 0 ? null : 12 + (i % 5) * 0.25,
    upstream_key_id: 'up_1',
    latency_ms: 3.25,
    instance_id: 'inst_a',
  }));
}

let sqlite: SqliteStore;
let memory: MemoryStore;
const both = () => [sqlite, memory] as ProxyStore[];

/** Call the same method on both stores; the answers must be equal. */
async function same<T>(call: (s: ProxyStore) => Promise<T>): Promise<T> {
  const [a, b] = await Promise.all(both().map(call));
  expect(b).toEqual(a);
  return a as T;
}

beforeAll(async () => {
  sqlite = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'tq-contract-')), 'proxy.db'));
  memory = new MemoryStore();
  await Promise.all(both().map((s) => s.init()));
});
afterAll(async () => Promise.all(both().map((s) => s.close())));

describe('MemoryStore answers as the SQLite store does', () => {
  it('vault keys: insert, filters, revision bumps, idempotent revoke, roll in one step, unique secrets', async () => {
    await same((s) => s.revision());
    for (const [i, id] of ['vk_0', 'vk_1', 'vk_2'].entries())
      await same((s) =>
        s.insertVaultKey(
          key(id, {
            created_at: `2026-11-22T02:0${i}:00.000Z`,
            labels: i === 2 ? ({ agent: 'other', extra: 'dropped' } as never) : { agent: 'refunder' },
            agent_run_id: i === 1 ? null : 'run_1',
          }),
        ),
      );
    await same((s) => s.revision());
    await same((s) => s.listVaultKeys({}));
    await same((s) => s.listVaultKeys({ agent: 'refunder' }));
    await same((s) => s.listVaultKeys({ agent_run_id: 'run_1', status: 'active' }));
    await same((s) => s.listVaultKeys({ ids: ['vk_2', 'vk_0', 'nope'] }));
    await same((s) => s.listVaultKeys({ ids: [] }));
    await same((s) => s.getVaultKey('vk_1'));
    await same((s) => s.getVaultKey('missing'));
    await same((s) => s.revokeVaultKeys(['vk_0', 'missing'], '2026-11-22T02:15:00.000Z', 'hard'));
    await same((s) => s.revokeVaultKeys(['vk_0', 'vk_1'], '2026-11-22T02:16:00.000Z', 'soft'));
    await same((s) => s.revision());
    await same((s) =>
      s.rollVaultKey(
        'vk_2',
        key('vk_3', { created_at: '2026-11-22T02:05:00.000Z', rolled_from: 'vk_2' }),
        true,
        '2026-11-22T02:17:00.000Z',
      ),
    );
    await same((s) => s.listVaultKeys({ status: 'revoked' }));
    for (const s of both())
      await expect(s.insertVaultKey(key('vk_4', { secret_hash: 'hash_vk_3' }))).rejects.toThrow(/UNIQUE/);
    for (const s of both())
      await expect(s.insertVaultKey(key('vk_3', { secret_hash: 'other' }))).rejects.toThrow(/UNIQUE/);
    for (const s of both())
      await expect(
        s.rollVaultKey('vk_3', key('vk_5', { secret_hash: 'hash_vk_0' }), true, '2026-11-22T02:18:00.000Z'),
      ).rejects.toThrow(/UNIQUE/);
    await same((s) => s.getVaultKey('vk_3')); // the failed roll changed nothing
    await same((s) => s.changesSince(0));
    await same(async (s) => s.changesSince((await s.revision()) - 1));
  });

  it('production keys: upsert keeps state, promote demotes the active one, retire, change sets', async () => {
    await same((s) => s.insertUpstreamKey(up('up_1', 'stripe', 'active', '2026-11-01T00:00:00.000Z')));
    await same((s) => s.insertUpstreamKey(up('up_2', 'stripe', 'standby', '2026-11-02T00:00:00.000Z')));
    await same((s) => s.insertUpstreamKey(up('up_3', 'openai', 'active', '2026-11-01T00:00:00.000Z')));
    const from = await same((s) => s.revision());
    await same((s) => s.promoteUpstreamKey('up_2', '2026-11-22T03:00:00.000Z'));
    await same((s) => s.listUpstreamKeys({ vendor: 'stripe' })); // the old active key is standby now
    await same((s) => s.promoteUpstreamKey('missing', '2026-11-22T03:00:00.000Z'));
    await same((s) => s.retireUpstreamKey('up_1', '2026-11-22T03:01:00.000Z'));
    await same((s) =>
      s.insertUpstreamKey({
        ...up('up_2', 'stripe', 'standby', '2026-12-01T00:00:00.000Z'),
        label: 'relabelled',
        hint: 'sk_…new1',
      }),
    );
    await same((s) => s.listUpstreamKeys({}));
    await same((s) => s.listUpstreamKeys({ vendor: 'stripe' }));
    await same((s) => s.changesSince(from));
  });

  it('audit: pages and cursors, summaries under every filter, per-key sums', async () => {
    const batch = rows();
    await same((s) => s.appendAudit(batch.slice(0, 100)));
    await same((s) => s.appendAudit(batch.slice(100)));
    await same((s) => s.appendAudit([]));
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<ProxyStore['queryAudit']>> = await same((s) =>
        s.queryAudit({ vault_key_id: 'vk_1' }, 30, cursor),
      );
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(1);
    const filters = [
      {},
      { vault_key_id: 'vk_1' },
      { agent_run_id: 'run_0', verdict: 'allowed' },
      { customer_scope_id: 'cus_3' },
      { vendor: 'openai' },
      { from: '2026-11-22T02:14:00.000Z', to: '2026-11-22T02:15:00.000Z' },
      { from: '2030-01-01T00:00:00.000Z' },
    ];
    for (const f of filters) {
      await same((s) => s.queryAudit(f, 1000, null));
      await same((s) => s.summarizeAudit(f));
    }
    // With a revoke time: the after-revoke counts, as the file sources count them (accumulate.ts).
    for (const at of ['2026-11-22T02:14:40.120Z', '2026-11-22T02:13:00.000Z', '2030-01-01T00:00:00.000Z']) {
      const t = Date.parse(at);
      for (const f of [{}, { vault_key_id: 'vk_1' }]) {
        const sum = await same((s) => s.summarizeAudit(f, at));
        const mine = batch.filter((r) => f.vault_key_id === undefined || r.vault_key_id === f.vault_key_id);
        const later = mine.filter((r) => Date.parse(r.started_at) >= t);
        expect(sum.after_revoke).toEqual({
          later: later.length,
          later_allowed: later.filter((r) => r.policy_verdict === 'allowed').length,
          in_flight: mine.filter((r) => Date.parse(r.started_at) < t && Date.parse(r.finished_at) > t).length,
        });
      }
    }
    expect((await sqlite.summarizeAudit({}, '2026-11-22T02:14:40.120Z')).after_revoke?.in_flight).toBe(1);
    await same((s) => s.spendByVaultKey('2026-11-22T02:14:00.000Z'));
    await same((s) => s.callsByVaultKey('2026-11-22T02:13:30.000Z', '2026-11-22T02:15:00.000Z'));
    for (const s of both()) await expect(s.queryAudit({}, 10, 'bm9wZQ')).rejects.toBeInstanceOf(RangeError);
  });

  it("write-ahead rows: pending intents, outcomes completing them, a retried batch written once, a dead instance's rows swept", async () => {
    const intent = (n: number, inst: string): AuditRow => ({
      ...rows()[1]!,
      started_at: `2026-11-22T02:20:0${n}.000Z`,
      agent_run_id: 'run_wa',
      call_id: `${inst}.${n}`,
      outcome: 'pending',
      amount_usd_estimated: 10 * n,
      instance_id: inst,
      vendor_status: 0,
      cost_usd_parsed: null,
    });
    await same((s) => s.appendAudit([intent(1, 'inst_a'), intent(2, 'inst_a'), intent(3, 'inst_b')]));
    await same((s) =>
      s.appendAudit(
        [intent(1, 'inst_a')],
        [
          {
            call_id: 'inst_a.1',
            finished_at: '2026-11-22T02:20:01.300Z',
            policy_verdict: 'allowed',
            vendor_status: 200,
            cost_usd_parsed: 7.5,
            latency_ms: 300,
          },
        ],
      ),
    );
    await same((s) => s.summarizeAudit({ agent_run_id: 'run_wa' }));
    await same((s) => s.sweepOutcomes('inst_a'));
    await same((s) => s.queryAudit({ agent_run_id: 'run_wa' }, 10, null));
    await same((s) => s.summarizeAudit({ agent_run_id: 'run_wa' }));
  });

  it('instances: heartbeat upserts keep the first admin URL and start, newest sync first', async () => {
    const at = (s: number) => `2026-11-22T02:00:0${s}.000Z`;
    await same((s) =>
      s.heartbeat({
        instance_id: 'a',
        data_plane_url: 'http://a',
        admin_url: 'http://a-admin',
        started_at: at(0),
        last_sync_at: at(1),
      }),
    );
    await same((s) =>
      s.heartbeat({
        instance_id: 'b',
        data_plane_url: 'http://b',
        admin_url: 'http://b-admin',
        started_at: at(0),
        last_sync_at: at(2),
      }),
    );
    await same((s) =>
      s.heartbeat({
        instance_id: 'a',
        data_plane_url: 'http://a2',
        admin_url: 'http://changed',
        started_at: at(5),
        last_sync_at: at(3),
        revision: 9,
      }),
    );
    await same((s) => s.listInstances());
  });
});
