// `tourniquet damage` at scale, side by side with the tools a person would reach for instead, in one run:
//   JSONL, N rows (default 1 M): tourniquet vs DuckDB (read_json typed, and read_json_auto), then GROUP BYs. Target: ≥ 1x DuckDB.
//   CSV, the same N rows: tourniquet vs DuckDB (read_csv typed, and read_csv_auto). Target: ≥ 1x DuckDB.
//   jq on the JSONL (slurp + group_by; the streaming form is quadratic in Debian's jq 1.6). Target: ≥ 5x faster.
//   Scale: JSONL at N and 10N rows: time per million rows and peak RSS. Target: linear, < 200 MB.
//   SQLite, 10N rows: tourniquet vs the same GROUP BY queries in the sqlite3 shell. Target: within 1.2x.
//   PostgreSQL, 10N rows: tourniquet vs the hand-written GROUP BY queries in psql. Target: within 1.2x.
// Every peer run is checked against tourniquet's on calls, cost and customer count. The machine's
// load average is reported before each part (the lead takes final figures on a quiet machine).
// TOURNIQUET_BENCH_ROWS sets N; TOURNIQUET_BENCH_DAMAGE=jsonl,csv,jq,scale,sqlite,postgres picks parts;
// TOURNIQUET_BENCH_DAMAGE_RUNS (default 5) rounds per side, interleaved; jq runs once unless
// TOURNIQUET_BENCH_JQ_RUNS says more. Data is generated once into .data/.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, STEP_S, T0_S, csvFile, ensureDataDir, jsonlFile, pgLoadSql, sqliteFile } from './damage-data.mjs';
import { ensureTools, measure, median, sideBySide, startCluster } from './damage-tools.mjs';
import { JQ_PROGRAM, pgQueries, sqliteQueries } from './damage-sql.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const duck = fileURLToPath(new URL('./_damage-duckdb.mjs', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'tq-bench-damage-'));
const jqProgram = join(home, 'damage.jq');
writeFileSync(jqProgram, JQ_PROGRAM);
const env = {
  PATH: process.env.PATH,
  HOME: home,
  TZ: 'UTC',
  TOURNIQUET_CONFIG_DIR: join(home, 'c'),
  TOURNIQUET_STATE_DIR: join(home, 's'),
};

const N = Number(process.env.TOURNIQUET_BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.TOURNIQUET_BENCH_DAMAGE_RUNS ?? 5);
const JQ_RUNS = Number(process.env.TOURNIQUET_BENCH_JQ_RUNS ?? 1);
const PARTS = (process.env.TOURNIQUET_BENCH_DAMAGE ?? 'jsonl,csv,jq,scale,sqlite,postgres').split(',');
const fmtN = (n) => (n >= 1e6 ? `${n / 1e6} M` : n >= 1e3 ? `${n / 1e3} k` : String(n));
/** The revoke lands halfway through the data, so the after-revoke split has work to do. */
const revokedAt = (n) => new Date(Math.round((T0_S + (n / 2) * STEP_S) * 1000)).toISOString();

const tourniquet = (source, n, extra = []) =>
  measure(process.execPath, [bin, 'damage', '--json', '--source', source, '--revoked-at', revokedAt(n), ...extra], {
    env,
    stdout: 'pipe',
  });
const duckdb = (format, mode, file, n) =>
  measure(process.execPath, [duck, format, mode, file, revokedAt(n)], { stdout: 'pipe' });

/** What every side must agree on: calls, cost, customers. */
function figures(m, tool) {
  const s = JSON.parse(m.stdout);
  return {
    tool,
    calls_total: s.calls_total,
    cost_usd: s.cost_usd,
    customers: Array.isArray(s.customers) ? s.customers.length : s.customers,
  };
}

function agree(runs) {
  const [first, ...rest] = runs;
  for (const r of rest)
    if (r.calls_total !== first.calls_total || r.cost_usd !== first.cost_usd || r.customers !== first.customers)
      throw new Error(`the summaries disagree: ${JSON.stringify(first)} vs ${JSON.stringify(r)}`);
  return first;
}

const load = () => loadavg()[0];

/**
 * Interleave tourniquet and its peers `RUNS` times (machine noise hits all alike), check every
 * run agrees, and report medians, peak memory and the ratio peer time / tourniquet time.
 */
function peers(rows, label, tq, others) {
  const before = load();
  const sides = [['tourniquet', tq], ...others];
  const times = sides.map(() => []);
  const rss = sides.map(() => 0);
  const seen = [];
  for (let i = 0; i < RUNS; i++)
    sides.forEach(([name, run], k) => {
      const m = run();
      times[k].push(m.seconds);
      rss[k] = Math.max(rss[k], m.rssMB);
      seen.push(figures(m, name));
    });
  const agreed = agree(seen);
  const t = median(times[0]);
  rows.push({
    metric: `${label}: tourniquet damage (median of ${RUNS})`,
    value: t,
    unit: 's',
    target: '≥ 1x every peer',
  });
  rows.push({ metric: `${label}: tourniquet peak RSS`, value: rss[0], unit: 'MB', target: '< 200 MB' });
  sides.slice(1).forEach(([name], j) => {
    const k = j + 1;
    rows.push({
      metric: `${label}: ${name} (median of ${RUNS}; ratio = its time / tourniquet's)`,
      value: median(times[k]),
      unit: 's',
      baseline: t,
      ratio: median(times[k]) / t,
      target: '≥ 1',
    });
    rows.push({ metric: `${label}: ${name} peak RSS`, value: rss[k], unit: 'MB' });
  });
  rows.push({
    metric: `${label}: all runs agree (calls, cost, customers)`,
    value: `${agreed.calls_total} calls, $${agreed.cost_usd}, ${agreed.customers} customers`,
    unit: '',
  });
  rows.push({
    metric: `${label}: machine load (1-min average) before / after`,
    value: `${before.toFixed(2)} / ${load().toFixed(2)}`,
    unit: '',
  });
}

function jsonl(rows) {
  const file = jsonlFile(N);
  peers(rows, `JSONL ${fmtN(N)} rows`, () => tourniquet(file, N), [
    ['DuckDB read_json (typed columns)', () => duckdb('jsonl', 'typed', file, N)],
    ['DuckDB read_json_auto', () => duckdb('jsonl', 'auto', file, N)],
  ]);
}

function csv(rows) {
  const file = csvFile(N);
  peers(rows, `CSV ${fmtN(N)} rows`, () => tourniquet(file, N), [
    ['DuckDB read_csv (typed columns)', () => duckdb('csv', 'typed', file, N)],
    ['DuckDB read_csv_auto', () => duckdb('csv', 'auto', file, N)],
  ]);
}

function jq(rows) {
  const file = jsonlFile(N);
  const before = load();
  const r = sideBySide(
    JQ_RUNS,
    () => tourniquet(file, N),
    () => measure('jq', ['-s', '--arg', 'rev', revokedAt(N), '-f', jqProgram, file]),
  );
  rows.push({
    metric: `JSONL ${fmtN(N)} rows: jq -s group_by (${JQ_RUNS} run; ratio = jq / tourniquet)`,
    value: r.b,
    unit: 's',
    baseline: r.a,
    ratio: r.b / r.a,
    target: '≥ 5',
  });
  rows.push({ metric: `JSONL ${fmtN(N)} rows: jq peak RSS`, value: r.bRss, unit: 'MB' });
  rows.push({
    metric: `jq: machine load before / after`,
    value: `${before.toFixed(2)} / ${load().toFixed(2)}`,
    unit: '',
  });
}

function scale(rows) {
  const perMillion = [];
  for (const n of [N, 10 * N]) {
    const before = load();
    const m = tourniquet(jsonlFile(n), n);
    perMillion.push(m.seconds / (n / 1e6));
    rows.push({
      metric: `JSONL ${fmtN(n)} rows: tourniquet time (load ${before.toFixed(2)})`,
      value: m.seconds,
      unit: 's',
    });
    rows.push({ metric: `JSONL ${fmtN(n)} rows: tourniquet peak RSS`, value: m.rssMB, unit: 'MB', target: '< 200 MB' });
  }
  rows.push({
    metric: `JSONL: seconds per million rows at ${fmtN(10 * N)} / at ${fmtN(N)}`,
    value: perMillion[1],
    unit: 's/M',
    baseline: perMillion[0],
    ratio: perMillion[1] / perMillion[0],
    target: '≤ 1.1 (linear)',
  });
}

function sqlite(rows) {
  const n = 10 * N;
  const file = sqliteFile(n);
  const sql = sqliteQueries(revokedAt(n));
  const r = sideBySide(
    Math.min(RUNS, 3),
    () => tourniquet(file, n),
    () => measure('sqlite3', ['-readonly', file], { input: sql }),
  );
  rows.push({
    metric: `SQLite ${fmtN(n)} rows: tourniquet damage`,
    value: r.a,
    unit: 's',
    baseline: r.b,
    ratio: r.a / r.b,
    target: '≤ 1.2x the sqlite3 shell',
  });
}

function postgres(rows) {
  const n = 10 * N;
  const pg = startCluster(ensureDataDir(), 25432);
  if (!pg)
    return rows.push({ metric: 'PostgreSQL: skipped (no server under /usr/lib/postgresql/*/bin)', value: 0, unit: '' });
  try {
    const exists =
      pg.psql(['-A', '-t', '-c', "SELECT to_regclass('agent_call_audit') IS NOT NULL"]).stdout.trim() === 't';
    const have = exists
      ? Number(pg.psql(['-A', '-t', '-c', 'SELECT count(*) FROM agent_call_audit']).stdout.trim())
      : 0;
    if (have !== n) pg.psql([], pgLoadSql(n));
    const sql = pgQueries(revokedAt(n));
    const r = sideBySide(
      Math.min(RUNS, 3),
      () => tourniquet(pg.url, n),
      () => pg.psql([], sql),
    );
    rows.push({
      metric: `PostgreSQL ${fmtN(n)} rows: tourniquet damage`,
      value: r.a,
      unit: 's',
      baseline: r.b,
      ratio: r.a / r.b,
      target: '≤ 1.2x psql',
    });
  } finally {
    pg.stop();
  }
}

export async function bench() {
  ensureTools();
  const rows = [];
  const parts = { jsonl, csv, jq, scale, sqlite, postgres };
  for (const [name, part] of Object.entries(parts)) if (PARTS.includes(name)) part(rows);
  const note =
    `N = ${fmtN(N)} (TOURNIQUET_BENCH_ROWS); ${RUNS} interleaved rounds per side, medians; data cached in ${DATA_DIR}. ` +
    'Every run is the whole summary: totals, verdicts, customers, endpoints, per minute, runs, keys, after-revoke split; ' +
    'DuckDB loads the file into a table, then runs the same GROUP BYs, on all cores as tourniquet does. ' +
    'Ratios: peer time / tourniquet time (above 1: tourniquet is faster); for SQL, tourniquet time / shell time.';
  return { name: 'Damage summary', note, rows };
}
