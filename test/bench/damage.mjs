// `tourniquet damage` at scale, side by side with what a person would otherwise run, in one run:
//   JSONL, N rows (default 1 M): tourniquet vs jq (slurp + group_by). Target: ≥ 5x faster.
//   Peak memory at N and 5N rows of JSONL. Target: < 200 MB whatever the size.
//   SQLite, 10N rows: tourniquet vs the same GROUP BY queries in the sqlite3 shell. Target: within 1.2x.
//   PostgreSQL, 10N rows: tourniquet vs the hand-written GROUP BY queries in psql. Target: within 1.2x.
// TOURNIQUET_BENCH_ROWS sets N; TOURNIQUET_BENCH_DAMAGE=jsonl,memory,sqlite,postgres picks parts;
// TOURNIQUET_BENCH_DAMAGE_RUNS (default 3) runs per side. Data is generated once into .data/.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_DIR, STEP_S, T0_S, ensureDataDir, jsonlFile, pgLoadSql, sqliteFile } from './damage-data.mjs';
import { ensureTools, measure, sideBySide, startCluster } from './damage-tools.mjs';
import { JQ_PROGRAM, pgQueries, sqliteQueries } from './damage-sql.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'tq-bench-damage-'));
const jqProgram = join(home, 'damage.jq');
writeFileSync(jqProgram, JQ_PROGRAM);
const env = { PATH: process.env.PATH, HOME: home, TZ: 'UTC', TOURNIQUET_CONFIG_DIR: join(home, 'c'), TOURNIQUET_STATE_DIR: join(home, 's') };

const N = Number(process.env.TOURNIQUET_BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.TOURNIQUET_BENCH_DAMAGE_RUNS ?? 3);
const PARTS = (process.env.TOURNIQUET_BENCH_DAMAGE ?? 'jsonl,memory,sqlite,postgres').split(',');
const fmtN = (n) => (n >= 1e6 ? `${n / 1e6} M` : n >= 1e3 ? `${n / 1e3} k` : String(n));
/** The revoke lands halfway through the data, so the after-revoke split has work to do. */
const revokedAt = (n) => new Date(Math.round((T0_S + (n / 2) * STEP_S) * 1000)).toISOString();

const tourniquet = (source, n, extra = []) => measure(process.execPath, [bin, 'damage', '--json', '--source', source, '--revoked-at', revokedAt(n), ...extra], { env });

function jsonlVsJq(rows) {
  const file = jsonlFile(N);
  const r = sideBySide(
    Math.min(RUNS, 2),
    () => tourniquet(file, N),
    () => measure('jq', ['-s', '--arg', 'rev', revokedAt(N), '-f', jqProgram, file]),
  );
  rows.push({ metric: `JSONL ${fmtN(N)} rows: tourniquet damage`, value: r.a, unit: 's', baseline: r.b, ratio: r.b / r.a, target: '≥ 5x faster than jq' });
  rows.push({ metric: `JSONL ${fmtN(N)} rows: jq -s group_by (peak RSS)`, value: r.bRss, unit: 'MB' });
}

function memory(rows) {
  for (const n of [N, 5 * N]) {
    const m = tourniquet(jsonlFile(n), n);
    rows.push({ metric: `JSONL ${fmtN(n)} rows: tourniquet peak RSS`, value: m.rssMB, unit: 'MB', target: '< 200 MB' });
    rows.push({ metric: `JSONL ${fmtN(n)} rows: tourniquet time`, value: m.seconds, unit: 's' });
  }
}

function sqlite(rows) {
  const n = 10 * N;
  const file = sqliteFile(n);
  const sql = sqliteQueries(revokedAt(n));
  const r = sideBySide(RUNS, () => tourniquet(file, n), () => measure('sqlite3', ['-readonly', file], { input: sql }));
  rows.push({ metric: `SQLite ${fmtN(n)} rows: tourniquet damage`, value: r.a, unit: 's', baseline: r.b, ratio: r.a / r.b, target: '≤ 1.2x the sqlite3 shell' });
}

function postgres(rows) {
  const n = 10 * N;
  const pg = startCluster(ensureDataDir(), 25432);
  if (!pg) return rows.push({ metric: 'PostgreSQL: skipped (no server under /usr/lib/postgresql/*/bin)', value: 0, unit: '' });
  try {
    const exists = pg.psql(['-A', '-t', '-c', "SELECT to_regclass('agent_call_audit') IS NOT NULL"]).stdout.trim() === 't';
    const have = exists ? Number(pg.psql(['-A', '-t', '-c', 'SELECT count(*) FROM agent_call_audit']).stdout.trim()) : 0;
    if (have !== n) pg.psql([], pgLoadSql(n));
    const sql = pgQueries(revokedAt(n));
    const r = sideBySide(RUNS, () => tourniquet(pg.url, n), () => pg.psql([], sql));
    rows.push({ metric: `PostgreSQL ${fmtN(n)} rows: tourniquet damage`, value: r.a, unit: 's', baseline: r.b, ratio: r.a / r.b, target: '≤ 1.2x psql' });
  } finally {
    pg.stop();
  }
}

export async function bench() {
  ensureTools();
  const rows = [];
  if (PARTS.includes('jsonl')) jsonlVsJq(rows);
  if (PARTS.includes('memory')) memory(rows);
  if (PARTS.includes('sqlite')) sqlite(rows);
  if (PARTS.includes('postgres')) postgres(rows);
  const note =
    `N = ${fmtN(N)} (TOURNIQUET_BENCH_ROWS); ${RUNS} alternating runs per side (jq at most 2), medians; data cached in ${DATA_DIR}. ` +
    'Every run is the whole summary: totals, verdicts, customers, endpoints, per minute, runs, keys, after-revoke split. ' +
    'Ratios: for jq, jq time / tourniquet time; for SQL, tourniquet time / shell time.';
  return { name: 'Damage summary', note, rows };
}
