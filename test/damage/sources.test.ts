import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { json, startServer, type TestServer } from '../helpers/server.js';
import { summarizeAudit, queryAudit } from '../../src/proxy/store/sqlite-audit.js';
import { REVOKED_AT, UNMETERED, storyRows, storyRowsUnmetered, type StoryRow } from '../fixtures/damage/story.js';
import { COLUMNS_C6, toCsv, toJsonl, toSqlite } from '../fixtures/damage/write.js';
import { LITELLM_API_KEY, projectForLiteLlm, toSpendLogs } from '../fixtures/damage/litellm.js';
import { PG_COLUMNS_FLAG, loadPg } from '../fixtures/damage/pg.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-damage-'));
const rows = storyRows();
const files = {
  jsonl: join(dir, 'audit.jsonl'),
  csv: join(dir, 'audit.csv'),
  sqlite: join(dir, 'audit.db'),
  litellm: join(dir, 'spend-logs.json'),
  litellmRows: join(dir, 'litellm-rows.jsonl'),
};
writeFileSync(files.jsonl, toJsonl(rows));
writeFileSync(files.csv, toCsv(rows));
toSqlite(files.sqlite, rows);
writeFileSync(files.litellm, JSON.stringify(toSpendLogs(rows)));
writeFileSync(files.litellmRows, toJsonl(projectForLiteLlm(rows)));

const TOKEN = 'tq_admin_test_token_0123456789';
let proxy: TestServer;
let realProxy: { adminUrl: string; stop(): Promise<void> };
const proxyDb = join(dir, 'proxy.db');
let pgc: PgCluster | undefined;

/** The real `tourniquet proxy serve` on its own SQLite store, holding the story's audit rows. */
async function startRealProxy() {
  const { openStore, startProxy } = await import('../../src/proxy/index.js');
  const store = await openStore(`sqlite:${proxyDb}`);
  await store.appendAudit(rows.map(({ id: _id, ...r }) => ({ ...r, instance_id: 'inst_test' })) as never);
  await store.close();
  return startProxy({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    store: `sqlite:${proxyDb}`,
    adminToken: TOKEN,
    log: false,
  });
}

/**
 * A loopback admin API answering from the proxy store's summary and audit queries (on the
 * fixture's own schema), as a proxy from before `revoked_at` did: it refuses the parameter (400),
 * so damage falls back to separate after-revoke reads bounded by one end time.
 */
async function startFakeProxy(): Promise<TestServer> {
  const db = new Database(files.sqlite, { readonly: true });
  return startServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(res, 401, { error: 'unauthorized' });
    const u = new URL(req.url, 'http://x');
    if (u.searchParams.has('revoked_at'))
      return json(res, 400, {
        error: { code: 'invalid_request', message: 'unknown field "revoked_at"', field: 'revoked_at' },
      });
    const filter = Object.fromEntries([...u.searchParams.entries()].filter(([k]) => !['limit', 'cursor'].includes(k)));
    if (u.pathname === '/v1/audit/summary') return json(res, 200, summarizeAudit(db, filter));
    if (u.pathname === '/v1/audit')
      return json(
        res,
        200,
        queryAudit(db, filter, Number(u.searchParams.get('limit') ?? 100), u.searchParams.get('cursor')),
      );
    json(res, 404, { error: 'unexpected request' });
  });
}

beforeAll(async () => {
  proxy = await startFakeProxy();
  realProxy = await startRealProxy();
  if (pgAvailable()) {
    pgc = await startPg();
    await loadPg(pgc.url, 'my_audit', rows);
  }
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await realProxy?.stop();
  pgc?.destroy();
});

const env = () => isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.url, TOURNIQUET_ADMIN_TOKEN: TOKEN, TZ: 'UTC' });

async function summary(source: string[], query: string[], stdin?: string, extraEnv: Record<string, string> = {}) {
  const r = await runInProcess(['damage', '--json', ...source, ...query], { env: { ...env(), ...extraEnv }, stdin });
  expect(r.stderr, r.stderr).not.toMatch(/internal error/);
  expect(r.code).toBe(0);
  const { source: _label, ...rest } = JSON.parse(r.stdout);
  return rest;
}

const QUERIES: Record<string, string[]> = {
  everything: ['--revoked-at', REVOKED_AT],
  'one vault key, a window': [
    '--vault-key',
    'vk_refund_agent',
    '--from',
    '2026-11-21T02:00:00Z',
    '--to',
    '2026-11-21T02:25:00Z',
    '--revoked-at',
    REVOKED_AT,
  ],
  'one agent run': ['--agent-run', 'run_refund_7f3a', '--since', '15m', '--to', '2026-11-21T02:21:00Z'],
  'one customer': ['--customer', 'cus_A1'],
  'an empty window': ['--from', '2027-01-01T00:00:00Z', '--to', '2027-01-01T01:00:00Z', '--revoked-at', REVOKED_AT],
};

describe('every source gives the identical summary on the same data', () => {
  for (const [name, query] of Object.entries(QUERIES)) {
    it(
      name,
      async () => {
        const expected = await summary(['--source', files.jsonl], query);
        expect(await summary(['--source', files.csv], query)).toEqual(expected);
        expect(await summary(['--source', '-'], query, readFileSync(files.jsonl, 'utf8'))).toEqual(expected);
        expect(
          await summary(['--source', '-', '--input-format', 'csv'], query, readFileSync(files.csv, 'utf8')),
        ).toEqual(expected);
        // The databases and the proxy: the same as the files, each minute's calls of unknown cost included.
        const database = await summary(['--source', files.sqlite], query);
        expect(database).toEqual(expected);
        expect(await summary(['--source', 'proxy'], query)).toEqual(database);
        expect(
          await summary(['--source', 'proxy'], query, undefined, { TOURNIQUET_PROXY_URL: realProxy.adminUrl }),
        ).toEqual(database);
        expect(await summary(['--source', proxyDb], query)).toEqual(database);
        if (pgc)
          expect(
            await summary(['--source', pgc.url, '--table', 'my_audit', '--columns', PG_COLUMNS_FLAG], query),
          ).toEqual(database);
      },
      30_000,
    );
  }

  it('LiteLLM spend logs summarise as the rows LiteLLM can represent, and never show api_key', async () => {
    for (const query of Object.values(QUERIES)) {
      const expected = await summary(['--source', files.litellmRows], query);
      expect(await summary(['--source', `litellm:${files.litellm}`], query)).toEqual(expected);
    }
    for (const format of ['text', 'md', 'json']) {
      const r = await runInProcess(
        ['damage', '--source', files.litellm, '--format', format, '--refunds', join(dir, `r-${format}.csv`)],
        { env: env() },
      );
      expect(r.code, r.stderr).toBe(0);
      // Read as the LiteLLM export it is (a `.json` array), not as JSONL: the calls are there.
      expect(r.stdout).toMatch(format === 'json' ? /"calls_total": [1-9]/ : /calls/i);
      expect(readFileSync(join(dir, `r-${format}.csv`), 'utf8').split('\n').length).toBeGreaterThan(2);
      expect(r.stdout + r.stderr + readFileSync(join(dir, `r-${format}.csv`), 'utf8')).not.toContain(
        LITELLM_API_KEY.slice(8),
      );
    }
  });

  it('a LiteLLM spend is checked as an audit cost: negative, over $1e9 or no number is bad, empty unknown', async () => {
    // Given spend logs with spends no call can have, and one written empty
    const odd = new Map<number, unknown>([
      [3, -7.5],
      [9, 5e9],
      [12, ''],
      [15, 'n/a'],
    ]);
    const at = <T>(xs: T[], set: (x: T, v: unknown) => T) =>
      xs.map((x, i) => (odd.has(i + 1) ? set(x, odd.get(i + 1)) : x));
    const logs = join(dir, 'odd-spend.json');
    const projected = join(dir, 'odd-spend-rows.jsonl');
    writeFileSync(logs, JSON.stringify(at(toSpendLogs(rows), (e, spend) => ({ ...e, spend }))));
    writeFileSync(
      projected,
      toJsonl(at(projectForLiteLlm(rows), (r, cost) => ({ ...r, cost_usd_parsed: cost as number }))),
    );
    // Then they read as those rows in an audit file: bad rows by entry, the empty one of unknown cost
    const expected = await summary(['--source', projected], []);
    expect(expected.bad_rows).toEqual({ count: 3, first_lines: [3, 9, 15] });
    expect(await summary(['--source', `litellm:${logs}`], [])).toEqual(expected);
    // And a file of which no entry is a spend log is bad input, not a summary of nothing
    const none = join(dir, 'no-spend-logs.json');
    writeFileSync(none, '[{"foo":1},{"bar":2},3]');
    const r = await runInProcess(['damage', '--source', `litellm:${none}`], { env: env() });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no entry is a readable spend log \(3 unreadable, first at 1, 2, 3\)/);
  });

  it('costs no call can have are bad rows in every source, by line or id, and never summed', async () => {
    const insane = new Map([
      [3, -5],
      [9, 2e9],
      [12, -1e308],
    ]);
    const broken = rows.map((r) =>
      insane.has(r.id) ? { ...r, policy_verdict: 'allowed', cost_usd_parsed: insane.get(r.id)! } : r,
    );
    const f = { jsonl: join(dir, 'insane.jsonl'), csv: join(dir, 'insane.csv'), sqlite: join(dir, 'insane.db') };
    writeFileSync(f.jsonl, toJsonl(broken));
    writeFileSync(f.csv, toCsv(broken));
    toSqlite(f.sqlite, broken);
    const query = ['--revoked-at', REVOKED_AT];
    const expected = await summary(['--source', f.jsonl], query);
    expect(expected.bad_rows).toEqual({ count: 3, first_lines: [3, 9, 12] });
    expect(expected.calls_total).toBe(rows.length - 3);
    // CSV numbers lines from its header, one more.
    expect(await summary(['--source', f.csv], query)).toEqual({
      ...expected,
      bad_rows: { count: 3, first_lines: [4, 10, 13] },
    });
    const database = await summary(['--source', f.sqlite], query);
    expect(database).toEqual(expected);
    const windowed = ['--from', '2026-11-21T00:00:00Z', '--to', '2026-11-22T00:00:00Z', ...query];
    expect(await summary(['--source', f.sqlite], windowed)).toEqual(await summary(['--source', f.jsonl], windowed));
    if (pgc) {
      await loadPg(pgc.url, 'my_audit_insane', broken, 'double precision');
      expect(
        await summary(['--source', pgc.url, '--table', 'my_audit_insane', '--columns', PG_COLUMNS_FLAG], query),
      ).toEqual(database);
    }
  }, 30_000);

  it('a cost held as text in SQLite is read as its number, in range or not, and text that is no number is bad', async () => {
    // Given a TEXT cost column (an imported CSV): costs of $2 and more sort above '1000000000' as text
    const text = rows.map((r) => ({
      ...r,
      cost_usd_parsed: (r.cost_usd_parsed === null ? '' : String(r.cost_usd_parsed)) as unknown as number,
    }));
    const cases: [string, StoryRow[]][] = [
      ['valid costs', text],
      ['an insane cost', text.map((r) => (r.id === 9 ? { ...r, cost_usd_parsed: '2e9' as unknown as number } : r))],
      ['no number', text.map((r) => (r.id === 5 ? { ...r, cost_usd_parsed: 'n/a' as unknown as number } : r))],
    ];
    const query = ['--revoked-at', REVOKED_AT];
    for (const [name, rowsOf] of cases) {
      const f = { csv: join(dir, `text-cost-${name}.csv`), sqlite: join(dir, `text-cost-${name}.db`) };
      writeFileSync(f.csv, toCsv(rowsOf));
      toSqlite(f.sqlite, rowsOf, undefined, 'TEXT');
      // Then SQLite says what the CSV says (whose line numbers count the header: one more than the ids)
      const expected = await summary(['--source', f.csv], query);
      const lines = expected.bad_rows.first_lines as number[];
      expect(await summary(['--source', f.sqlite], query), name).toEqual({
        ...expected,
        bad_rows: { ...expected.bad_rows, first_lines: lines.map((l) => l - 1) },
      });
      expect(expected.bad_rows.count, name).toBe(name === 'valid costs' ? 0 : 1);
    }
  }, 30_000);

  it('zone-less text times in SQLite: a row at exactly --from, --to or --revoked-at is where a file puts it', async () => {
    // Given times written without a zone, with and without milliseconds (`2026-11-21 02:14:05`, `… 02:14:05.000`)
    const bare = (iso: string, short: boolean) => {
      const text = iso.replace('T', ' ').replace(/Z$/, '');
      return short ? text.replace(/\.000$/, '') : text;
    };
    // (and a call that finished exactly at the revoke, written `…:05.000`: not in flight)
    const edge = rows.map((r) => (r.id === 967 ? { ...r, finished_at: REVOKED_AT } : r));
    expect(REVOKED_AT).toBe('2026-11-21T02:20:05.000Z');
    const jsonl = join(dir, 'zoneless.jsonl');
    writeFileSync(jsonl, toJsonl(edge));
    const zoneless = edge.map((r) => ({
      ...r,
      started_at: bare(r.started_at, r.id % 2 === 0),
      finished_at: bare(r.finished_at, r.id % 3 === 0),
    }));
    const file = join(dir, 'zoneless.db');
    toSqlite(file, zoneless);
    const exact = (i: number, field: 'started_at' | 'finished_at' = 'started_at') => rows[i]![field];
    const queries = [
      ['--from', exact(10), '--to', exact(51), '--revoked-at', exact(30)],
      ['--from', exact(11), '--to', exact(50), '--revoked-at', exact(29, 'finished_at')],
      ['--revoked-at', REVOKED_AT],
    ];
    for (const query of queries) {
      const expected = await summary(['--source', jsonl], query);
      // Then SQLite counts the rows at the bounds as the file does
      expect(await summary(['--source', file], query), query.join(' ')).toEqual(expected);
    }
  }, 30_000);

  it('a row with no start time (NULL, or an empty text in SQLite) is a bad row in every source, inside a window too (it may belong to it)', async () => {
    const undated = new Set([4, 9, 17]);
    const broken = rows.map((r) => (undated.has(r.id) ? { ...r, started_at: null as unknown as string } : r));
    const f = {
      jsonl: join(dir, 'undated.jsonl'),
      sqlite: join(dir, 'undated.db'),
      empty: join(dir, 'undated-empty.db'),
    };
    writeFileSync(f.jsonl, toJsonl(broken));
    toSqlite(f.sqlite, broken);
    // An empty text is no start time either (`sqlite3 .import --csv` writes an empty cell so).
    toSqlite(
      f.empty,
      broken.map((r) => (undated.has(r.id) ? { ...r, started_at: '' } : r)),
    );
    if (pgc) await loadPg(pgc.url, 'my_audit_undated', broken);
    const key = broken.find((r) => r.id === 9)!.vault_key_id!;
    const queries = [
      [],
      ['--from', '2026-11-21T00:00:00Z', '--to', '2026-11-22T00:00:00Z'],
      ['--from', '2026-11-21T02:00:00Z', '--revoked-at', REVOKED_AT],
    ];
    const pgSummary = (query: string[]) =>
      summary(['--source', pgc!.url, '--table', 'my_audit_undated', '--columns', PG_COLUMNS_FLAG], query);
    for (const query of queries) {
      const expected = await summary(['--source', f.jsonl], query);
      expect(expected.bad_rows, query.join(' ')).toEqual({ count: 3, first_lines: [4, 9, 17] });
      expect(await summary(['--source', f.sqlite], query), query.join(' ')).toEqual(expected);
      expect(await summary(['--source', f.empty], query), query.join(' ')).toEqual(expected);
      if (pgc) expect(await pgSummary(query), query.join(' ')).toEqual(expected);
    }
    // A table can tell whose row it is: with --vault-key, only that key's undated rows are its bad rows (a file
    // line whose start time cannot be read is bad whatever else it says).
    for (const query of [
      ['--vault-key', key],
      ['--from', '2026-11-21T00:00:00Z', '--vault-key', key],
    ]) {
      const keyed = await summary(['--source', f.sqlite], query);
      expect(keyed.bad_rows, query.join(' ')).toEqual({ count: 1, first_lines: [9] });
      expect(await summary(['--source', f.empty], query), query.join(' ')).toEqual(keyed);
      if (pgc) expect(await pgSummary(query), query.join(' ')).toEqual(keyed);
    }
  }, 30_000);

  it('a key written NULL in one row and empty in another is one key (no value) in every source', async () => {
    // Given customers, runs, keys and verdicts written as NULL, '' and (verdicts) `unknown`
    const blank = (i: number) => (i % 3 === 0 ? null : i % 3 === 1 ? '' : undefined);
    const mixed = rows.map((r) => {
      const b = blank(r.id);
      if (b === undefined) return r;
      const verdict = r.id % 4 === 0 ? (r.id % 8 === 0 ? 'unknown' : b) : r.policy_verdict;
      return { ...r, customer_scope_id: b, agent_run_id: b, vault_key_id: b, policy_verdict: verdict } as StoryRow;
    });
    const f = { jsonl: join(dir, 'blank-keys.jsonl'), sqlite: join(dir, 'blank-keys.db') };
    writeFileSync(f.jsonl, toJsonl(mixed));
    toSqlite(f.sqlite, mixed);
    if (pgc) await loadPg(pgc.url, 'my_audit_blank_keys', mixed);
    const query = ['--revoked-at', REVOKED_AT];
    const expected = await summary(['--source', f.jsonl], query);
    const verdicts = Object.values(expected.by_verdict as Record<string, number>);
    expect(verdicts.reduce((n, c) => n + c, 0)).toBe(expected.calls_total);
    expect(
      expected.customers.find((c: { customer_scope_id: string | null }) => c.customer_scope_id === null),
    ).toBeTruthy();
    // Then the tables add both rows to the one key, as the file does
    expect(await summary(['--source', f.sqlite], query)).toEqual(expected);
    if (pgc)
      expect(
        await summary(['--source', pgc.url, '--table', 'my_audit_blank_keys', '--columns', PG_COLUMNS_FLAG], query),
      ).toEqual(expected);
  }, 30_000);

  it("the cost is the allowed calls' cost in every source, even where a refused call has a cost written", async () => {
    // Given refused calls whose rows say they cost something
    const priced = rows.map((r) => (r.policy_verdict === 'allowed' ? r : { ...r, cost_usd_parsed: 7 }));
    const f = { jsonl: join(dir, 'priced.jsonl'), csv: join(dir, 'priced.csv'), sqlite: join(dir, 'priced.db') };
    writeFileSync(f.jsonl, toJsonl(priced));
    writeFileSync(f.csv, toCsv(priced));
    toSqlite(f.sqlite, priced);
    if (pgc) await loadPg(pgc.url, 'my_audit_priced', priced);
    // Then the cost is what the allowed calls cost: the story's own, the sum of its minutes and of its customers
    const query = ['--revoked-at', REVOKED_AT];
    const expected = await summary(['--source', f.jsonl], query);
    expect(expected).toEqual(await summary(['--source', files.jsonl], query));
    const cents = (xs: { cost_usd: number }[]) => Math.round(xs.reduce((n, x) => n + x.cost_usd * 100, 0));
    expect(Math.round(expected.cost_usd * 100)).toBe(cents(expected.per_minute));
    expect(Math.round(expected.cost_usd * 100)).toBe(cents(expected.customers));
    expect(await summary(['--source', f.csv], query)).toEqual(expected);
    expect(await summary(['--source', f.sqlite], query)).toEqual(expected);
    if (pgc)
      expect(
        await summary(['--source', pgc.url, '--table', 'my_audit_priced', '--columns', PG_COLUMNS_FLAG], query),
      ).toEqual(expected);
  }, 30_000);

  it('a column map that reads two fields from one column gives each field its breakdown', async () => {
    // Given agent runs read from the vault key column
    const query = ['--revoked-at', REVOKED_AT];
    const expected = await summary(['--source', files.jsonl, '--columns', 'agent_run_id=vault_key_id'], query);
    // Then the runs are the keys, in every source
    const keys = expected.vault_keys.map(({ vault_key_id, ...r }: { vault_key_id: string }) => ({
      agent_run_id: vault_key_id,
      ...r,
    }));
    expect(keys.length).toBeGreaterThan(1);
    expect(expected.agent_runs).toEqual(keys);
    if (pgc)
      expect(
        await summary(
          ['--source', pgc.url, '--table', 'my_audit', '--columns', `${PG_COLUMNS_FLAG},agent_run_id=vault_key_id`],
          query,
        ),
      ).toEqual(expected);
  });

  it('the story reads as the story', async () => {
    const s = await summary(['--source', files.sqlite], QUERIES.everything!);
    expect(s.anomaly_start).toBe('2026-11-21T02:14:00.000Z');
    expect(s.after_revoke).toEqual({ revoked_at: REVOKED_AT, in_flight: 1, later: 62, later_allowed: 0 });
    expect(s.by_verdict.vault_key_revoked).toBe(62);
    expect(s.endpoints.map((e: { path: string }) => e.path)).toContain('/v1/charges/{id}');
    expect(s.bad_rows).toEqual({ count: 0, first_lines: [] });
  });
});

describe('unknown cost and unknown outcome (C6): every source reports them, identically', () => {
  const c6 = storyRowsUnmetered();
  const c6Files = { jsonl: join(dir, 'c6.jsonl'), csv: join(dir, 'c6.csv'), sqlite: join(dir, 'c6.db') };
  const c6ProxyDb = join(dir, 'c6-proxy.db');
  let c6Proxy: { adminUrl: string; stop(): Promise<void> } | undefined;
  beforeAll(async () => {
    writeFileSync(c6Files.jsonl, toJsonl(c6));
    writeFileSync(c6Files.csv, toCsv(c6, COLUMNS_C6));
    toSqlite(c6Files.sqlite, c6, COLUMNS_C6);
    const { openStore, startProxy } = await import('../../src/proxy/index.js');
    const store = await openStore(`sqlite:${c6ProxyDb}`);
    // Rows of an instance that died (never this one), so the proxy keeps their outcome as written.
    await store.appendAudit(
      c6.map(({ id, ...r }) => ({ ...r, instance_id: 'inst_dead', call_id: `d.${id}` })) as never,
    );
    await store.close();
    c6Proxy = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${c6ProxyDb}`,
      adminToken: TOKEN,
      log: false,
    });
    if (pgc) await loadPg(pgc.url, 'my_audit_c6', c6, undefined, COLUMNS_C6);
  }, 60_000);
  afterAll(async () => c6Proxy?.stop());

  for (const [name, query] of Object.entries(QUERIES)) {
    it(
      name,
      async () => {
        const expected = await summary(['--source', c6Files.jsonl], query);
        expect(await summary(['--source', c6Files.csv], query)).toEqual(expected);
        expect(await summary(['--source', c6Files.sqlite], query)).toEqual(expected);
        expect(await summary(['--source', '-'], query, readFileSync(c6Files.jsonl, 'utf8'))).toEqual(expected);
        expect(
          await summary(['--source', 'proxy'], query, undefined, { TOURNIQUET_PROXY_URL: c6Proxy!.adminUrl }),
        ).toEqual(expected);
        expect(await summary(['--source', c6ProxyDb], query)).toEqual(expected);
        if (pgc)
          expect(
            await summary(['--source', pgc.url, '--table', 'my_audit_c6', '--columns', PG_COLUMNS_FLAG], query),
          ).toEqual(expected);
      },
      30_000,
    );
  }

  it('an empty cost in SQLite is an unknown cost, as an empty CSV cell is, never a known $0', async () => {
    // Given the rows with no cost written as '' (what `sqlite3 .import --csv` leaves)
    const file = join(dir, 'c6-empty-cost.db');
    toSqlite(
      file,
      c6.map((r) => (r.cost_usd_parsed === null ? { ...r, cost_usd_parsed: '' as unknown as number } : r)),
      COLUMNS_C6,
    );
    for (const query of Object.values(QUERIES)) {
      const expected = await summary(['--source', c6Files.csv], query);
      expect(await summary(['--source', file], query), query.join(' ')).toEqual(expected);
    }
    expect((await summary(['--source', file], [])).cost_unknown.calls).toBe(UNMETERED.costUnknown);
  }, 30_000);

  it('a bad row counts as a bad row and nothing else: no verdict, time, cost, revoke split or outcome', async () => {
    // Given the story plus bad rows that, were they read, would move every other figure: no start
    // time (allowed, no cost, outcome pending); an insane cost on the earliest call, in flight at
    // the revoke, outcome unknown, its own customer; an insane cost on the latest call, after the
    // revoke; an insane cost with a verdict no other row has.
    const n = c6.length;
    const late = (at: string, extra: Partial<StoryRow>): StoryRow => ({
      ...c6[0]!,
      started_at: at,
      finished_at: '2026-11-21T03:00:00.000Z',
      policy_verdict: 'allowed',
      outcome: 'complete',
      amount_usd_estimated: null,
      ...extra,
    });
    const bad: StoryRow[] = [
      late(null as unknown as string, {
        id: n + 1,
        cost_usd_parsed: null,
        outcome: 'pending',
        amount_usd_estimated: 99,
      }),
      late('2026-11-21T00:00:00.000Z', {
        id: n + 2,
        cost_usd_parsed: -5,
        outcome: 'unknown',
        amount_usd_estimated: 12.5,
        customer_scope_id: 'cus_only_bad',
      }),
      late('2026-11-21T04:00:00.000Z', {
        id: n + 3,
        cost_usd_parsed: 2e9,
        outcome: 'pending',
        amount_usd_estimated: 7,
      }),
      late('2026-11-21T03:30:00.000Z', { id: n + 4, cost_usd_parsed: -1e308, policy_verdict: 'only_bad' }),
    ];
    // (A window leaves out a row with no start time in the databases, but not in the files: not asked here.)
    const cases: [string[], StoryRow[]][] = [
      [['--revoked-at', REVOKED_AT], bad],
      [['--from', '2026-11-20T00:00:00Z', '--to', '2026-11-22T00:00:00Z', '--revoked-at', REVOKED_AT], bad.slice(1)],
    ];
    for (const [query, rows] of cases) {
      // Ids follow on from the story's, so a file's line numbers are the table's ids.
      const broken = rows.map((r, i) => ({ ...r, id: n + 1 + i }));
      const file = join(dir, 'c6-bad.jsonl');
      writeFileSync(file, toJsonl([...c6, ...broken]));
      // Then the summary is the story's own, but for the bad rows.
      const expected = {
        ...(await summary(['--source', c6Files.jsonl], query)),
        bad_rows: { count: broken.length, first_lines: broken.map((r) => r.id) },
      };
      expect(await summary(['--source', file], query)).toEqual(expected);
      if (pgc) {
        await loadPg(pgc.url, 'my_audit_c6_bad', [...c6, ...broken], 'double precision', COLUMNS_C6);
        expect(
          await summary(['--source', pgc.url, '--table', 'my_audit_c6_bad', '--columns', PG_COLUMNS_FLAG], query),
        ).toEqual(expected);
      }
    }
  }, 30_000);

  it('the figures: unknown-cost calls and their share, outcome-unknown calls with their estimate; never a bare cost', async () => {
    const s = await summary(['--source', c6Files.jsonl], []);
    expect(s.cost_unknown).toEqual({
      calls: UNMETERED.costUnknown,
      share: Math.round((UNMETERED.costUnknown / UNMETERED.allowed) * 10_000) / 10_000,
    });
    expect(s.outcome_unknown).toEqual({
      calls: UNMETERED.outcomeUnknown,
      amount_usd_estimated: UNMETERED.estimatedUsd,
    });
    for (const format of ['text', 'md']) {
      const r = await runInProcess(['damage', '--source', c6Files.sqlite, '--format', format], { env: env() });
      expect(r.code, r.stderr).toBe(0);
      if (format === 'text') {
        // 80 columns: long values go on under themselves, broken between words.
        for (const line of r.stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
        expect(r.stdout).toMatch(/^Outcome unknown 2 calls forwarded/m);
        r.stdout = r.stdout.replace(/\n {13}(?=\S)/g, ' ');
      }
      expect(r.stdout).toMatch(
        /at least \$[\d,.]+: 17 allowed calls \(1\.8%\) have no cost recorded \(unknown, not \$0\)/,
      );
      expect(r.stdout).toContain(
        '2 calls forwarded, outcome never recorded (not proven either way); estimated $85.50 (an estimate, not in the cost)',
      );
    }
  });

  it('a source without the write-ahead columns says every outcome is recorded, and counts unknown costs all the same', async () => {
    const s = await summary(['--source', files.sqlite], []);
    expect(s.outcome_unknown).toEqual({ calls: 0, amount_usd_estimated: 0 });
    expect(s.cost_unknown).toEqual({ calls: 0, share: 0 });
  });
});
