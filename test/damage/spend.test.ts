import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { json, startServer } from '../helpers/server.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { REVOKED_AT, storyRows, type StoryRow } from '../fixtures/damage/story.js';
import { toJsonl, toSqlite } from '../fixtures/damage/write.js';
import { PG_COLUMNS_FLAG, loadPg } from '../fixtures/damage/pg.js';
import { summarizeAudit } from '../../src/proxy/store/sqlite-audit.js';
import type { MinuteCount } from '../../src/core/damage/types.js';

/**
 * Spend per minute (issue 13): each minute's cost of allowed calls, next to its calls, the same in
 * every source, in exact micro-dollars; a minute with allowed calls of unknown cost says how many.
 */
const dir = mkdtempSync(join(tmpdir(), 'tq-spend-'));
const TOKEN = 'tq_admin_test_token_spend_0123456789';
const UNKNOWN_MINUTE = '2026-11-21T02:16';
// A few refused calls with a cost written (a vendor that bills a refusal): not money the proxy let move.
const rows = storyRows().map((r, i) =>
  r.policy_verdict !== 'allowed' && i % 7 === 0 ? { ...r, cost_usd_parsed: 9.99 } : r,
);
// Four allowed calls in one minute whose cost the proxy never learnt.
const unknown: StoryRow[] = rows.map((r) => ({ ...r }));
unknown
  .filter((r) => r.started_at.startsWith(UNKNOWN_MINUTE) && r.policy_verdict === 'allowed')
  .slice(0, 4)
  .forEach((r) => (r.cost_usd_parsed = null));

/** The reference: each minute's allowed calls' cost in micro-dollars, added up here from the rows. */
function reference(of: StoryRow[]): Map<string, { micros: number; unknown: number }> {
  const out = new Map<string, { micros: number; unknown: number }>();
  for (const r of of) {
    const m = `${r.started_at.slice(0, 16)}:00.000Z`;
    const e = out.get(m) ?? { micros: 0, unknown: 0 };
    if (r.policy_verdict === 'allowed') {
      if (r.cost_usd_parsed === null) e.unknown++;
      else e.micros += Math.round(r.cost_usd_parsed * 1_000_000);
    }
    out.set(m, e);
  }
  return out;
}

const files = { jsonl: join(dir, 'audit.jsonl'), sqlite: join(dir, 'audit.db'), unknown: join(dir, 'unknown.db') };
writeFileSync(files.jsonl, toJsonl(rows));
toSqlite(files.sqlite, rows);
toSqlite(files.unknown, unknown);
let pgc: PgCluster | undefined;
let realProxy: { adminUrl: string; stop(): Promise<void> } | undefined;

beforeAll(async () => {
  const { openStore, startProxy } = await import('../../src/proxy/index.js');
  const storeDb = join(dir, 'proxy.db');
  const store = await openStore(`sqlite:${storeDb}`);
  await store.appendAudit(unknown.map(({ id: _id, ...r }) => ({ ...r, instance_id: 'inst_test' })) as never);
  await store.close();
  realProxy = await startProxy({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    store: `sqlite:${storeDb}`,
    adminToken: TOKEN,
    log: false,
  });
  if (pgAvailable()) {
    pgc = await startPg();
    await loadPg(pgc.url, 'spend_audit', rows);
    await loadPg(pgc.url, 'spend_unknown', unknown);
  }
}, 60_000);

afterAll(async () => {
  await realProxy?.stop();
  pgc?.destroy();
});

async function perMinute(source: string[], env: Record<string, string> = {}): Promise<MinuteCount[]> {
  const r = await runInProcess(['damage', '--json', ...source, '--revoked-at', REVOKED_AT], {
    env: { ...isolatedEnv({ TZ: 'UTC' }), ...env },
  });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout).per_minute as MinuteCount[];
}

function expectAsReference(got: MinuteCount[], of: StoryRow[], tellsUnknown: boolean): void {
  const ref = reference(of);
  expect(got.length).toBeGreaterThan(30);
  for (const m of got) {
    const want = ref.get(m.minute) ?? { micros: 0, unknown: 0 };
    expect({ minute: m.minute, cost_usd: m.cost_usd }).toEqual({ minute: m.minute, cost_usd: want.micros / 1e6 });
    expect(m.calls_cost_unknown).toBe(tellsUnknown ? want.unknown : null);
  }
}

describe('spend per minute, next to calls per minute', () => {
  it("each minute's cost of allowed calls, exactly, from files, SQLite and PostgreSQL", async () => {
    const files_ = await perMinute(['--source', files.jsonl]);
    expectAsReference(files_, rows, true);
    expectAsReference(await perMinute(['--source', files.sqlite]), rows, true);
    if (pgc)
      expectAsReference(
        await perMinute(['--source', pgc.url, '--table', 'spend_audit', '--columns', PG_COLUMNS_FLAG]),
        rows,
        true,
      );
    // The loop's minutes cost thousands; the quiet ones a few dollars: the chart has something to show.
    expect(Math.max(...files_.map((m) => m.cost_usd!))).toBeGreaterThan(1000);
    expect(rows.filter((r) => r.policy_verdict !== 'allowed' && r.cost_usd_parsed !== null).length).toBeGreaterThan(5);
  }, 60_000);

  it('a minute with allowed calls of unknown cost counts them, in the databases and the real proxy', async () => {
    const sqlite = await perMinute(['--source', files.unknown]);
    expectAsReference(sqlite, unknown, true);
    const marked = sqlite.filter((m) => m.calls_cost_unknown! > 0);
    expect(marked.map((m) => [m.minute, m.calls_cost_unknown])).toEqual([[`${UNKNOWN_MINUTE}:00.000Z`, 4]]);
    expect(
      await perMinute(['--source', 'proxy'], {
        TOURNIQUET_PROXY_URL: realProxy!.adminUrl,
        TOURNIQUET_ADMIN_TOKEN: TOKEN,
      }),
    ).toEqual(sqlite);
    if (pgc)
      expect(await perMinute(['--source', pgc.url, '--table', 'spend_unknown', '--columns', PG_COLUMNS_FLAG])).toEqual(
        sqlite,
      );
  }, 60_000);

  it("the proxy store's summary gives each minute its cost and unknown count; an older proxy's none is null, not $0", async () => {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(files.unknown, { readonly: true });
    const answer = summarizeAudit(db, {});
    db.close();
    const m = answer.per_minute.find((x) => x.minute.startsWith(UNKNOWN_MINUTE))!;
    expect(m.calls_cost_unknown).toBe(4);
    expect(m.cost_usd).toBe(reference(unknown).get(`${UNKNOWN_MINUTE}:00.000Z`)!.micros / 1e6);
    // An older proxy: per_minute without cost. The damage summary says it does not know.
    const old = { ...answer, per_minute: answer.per_minute.map(({ minute, calls }) => ({ minute, calls })) };
    const server = await startServer((req, res) => {
      if (new URL(req.url, 'http://x').pathname === '/v1/audit/summary') return json(res, 200, old);
      json(res, 200, { data: [], next_cursor: null });
    });
    try {
      const got = await perMinute(['--source', 'proxy'], {
        TOURNIQUET_PROXY_URL: server.url,
        TOURNIQUET_ADMIN_TOKEN: TOKEN,
      });
      expect(got.length).toBeGreaterThan(30);
      expect(got.every((x) => x.cost_usd === null && x.calls_cost_unknown === null)).toBe(true);
    } finally {
      await server.close();
    }
  }, 60_000);
});
