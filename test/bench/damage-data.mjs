// Generated audit data for the damage benchmark, cached under test/bench/.data/ (ignored by git).
// Row i is a pure function of i, so the JSONL, SQLite and PostgreSQL sets hold the same rows.
import { closeSync, existsSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '.data');
export const T0_S = Date.parse('2026-11-20T00:00:00Z') / 1000;
export const STEP_S = 0.05; // one call every 50 ms
export const PATHS = ['refunds', 'charges', 'customers', 'payment_intents'];

export function ensureDataDir() {
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(join(DATA_DIR, '.gitignore'), '*\n');
  return DATA_DIR;
}

/** Row i, in the same formulas the SQL generators below use. */
export function row(i) {
  const startMs = Math.round((T0_S + i * STEP_S) * 1000);
  const verdict = i % 50 === 0 ? 'rate_limited' : i % 97 === 0 ? 'vault_key_revoked' : 'allowed';
  return {
    id: i + 1,
    started_at: new Date(startMs).toISOString(),
    finished_at: new Date(startMs + (i % 300) + 20).toISOString(),
    vault_key_id: `vk_${(i * 7) % 50}`,
    agent_run_id: `run_${(i * 13) % 500}`,
    customer_scope_id: `cus_${(i * 31) % 10000}`,
    vendor: 'stripe',
    method: i % 5 === 0 ? 'GET' : 'POST',
    path: i % 100 === 3 ? `/v1/charges/ch_${i}` : `/v1/${PATHS[i % 4]}`,
    policy_verdict: verdict,
    vendor_status: verdict === 'allowed' ? 200 : 0,
    cost_usd_parsed: verdict === 'allowed' ? ((i * 7919) % 10000) / 100 : null,
    upstream_key_id: 'uk_stripe_live',
    latency_ms: (i % 300) + 20,
  };
}

/** N generated lines into file (once: an existing file is reused), written in batches. */
function writeLines(file, n, header, line) {
  if (existsSync(file)) return file;
  const tmp = file + '.tmp';
  const fd = openSync(tmp, 'w');
  if (header) writeSync(fd, header + '\n');
  let buf = [];
  for (let i = 0; i < n; i++) {
    buf.push(line(i));
    if (buf.length === 20000) {
      writeSync(fd, buf.join('\n') + '\n');
      buf = [];
    }
  }
  if (buf.length) writeSync(fd, buf.join('\n') + '\n');
  closeSync(fd);
  renameSync(tmp, file);
  return file;
}

/** N rows of JSONL, written once and reused. */
export const jsonlFile = (n) =>
  writeLines(join(ensureDataDir(), `audit-${n}.jsonl`), n, null, (i) => JSON.stringify(row(i)));

/** The same rows as SQL, over a generated series `i` (0-based). `ts(expr)` turns epoch seconds into the column type. */
export function rowSql(ts, concat = (...parts) => parts.join(' || ')) {
  const t = `(${T0_S} + i * ${STEP_S})`;
  const verdict = `CASE WHEN i % 50 = 0 THEN 'rate_limited' WHEN i % 97 = 0 THEN 'vault_key_revoked' ELSE 'allowed' END`;
  return [
    'i + 1',
    ts(t),
    ts(`(${t} + ((i % 300) + 20) / 1000.0)`),
    concat(`'vk_'`, `((i * 7) % 50)`),
    concat(`'run_'`, `((i * 13) % 500)`),
    concat(`'cus_'`, `((i * 31) % 10000)`),
    `'stripe'`,
    `CASE WHEN i % 5 = 0 THEN 'GET' ELSE 'POST' END`,
    `CASE WHEN i % 100 = 3 THEN ${concat(`'/v1/charges/ch_'`, 'i')} ELSE ${concat(`'/v1/'`, `(CASE i % 4 WHEN 0 THEN 'refunds' WHEN 1 THEN 'charges' WHEN 2 THEN 'customers' ELSE 'payment_intents' END)`)} END`,
    verdict,
    `CASE WHEN ${verdict} = 'allowed' THEN 200 ELSE 0 END`,
    `CASE WHEN ${verdict} = 'allowed' THEN ((i * 7919) % 10000) / 100.0 ELSE NULL END`,
    `'uk_stripe_live'`,
    '(i % 300) + 20',
  ].join(', ');
}

export const COLUMNS =
  'id, started_at, finished_at, vault_key_id, agent_run_id, customer_scope_id, vendor, method, path, policy_verdict, vendor_status, cost_usd_parsed, upstream_key_id, latency_ms';

/** N rows in an SQLite file with the proxy store's audit schema (text ISO times), via the sqlite3 shell. */
export function sqliteFile(n) {
  const file = join(ensureDataDir(), `audit-${n}.sqlite`);
  if (existsSync(file)) return file;
  const tmp = file + '.tmp';
  const ts = (x) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${x}, 'unixepoch')`;
  const sql = `PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
CREATE TABLE agent_call_audit (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT NOT NULL, vault_key_id TEXT, agent_run_id TEXT,
  customer_scope_id TEXT, vendor TEXT, method TEXT NOT NULL, path TEXT NOT NULL, policy_verdict TEXT NOT NULL, vendor_status INTEGER NOT NULL,
  cost_usd_parsed REAL, upstream_key_id TEXT, latency_ms REAL NOT NULL);
INSERT INTO agent_call_audit (${COLUMNS})
  WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ${n}) SELECT ${rowSql(ts)} FROM s;
CREATE INDEX audit_started ON agent_call_audit (started_at);`;
  const r = spawnSync('sqlite3', [tmp], { input: sql, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`sqlite3 failed: ${r.stderr}`);
  renameSync(tmp, file);
  return file;
}

/** Load N rows into PostgreSQL table `agent_call_audit` (timestamptz), unless it already holds N. */
export function pgLoadSql(n) {
  const ts = (x) => `to_timestamp(${x})`;
  return `DROP TABLE IF EXISTS agent_call_audit;
CREATE UNLOGGED TABLE agent_call_audit (id bigint, started_at timestamptz, finished_at timestamptz, vault_key_id text, agent_run_id text,
  customer_scope_id text, vendor text, method text, path text, policy_verdict text, vendor_status int,
  cost_usd_parsed numeric(12,2), upstream_key_id text, latency_ms real);
INSERT INTO agent_call_audit (${COLUMNS}) SELECT ${rowSql(ts)} FROM generate_series(0::bigint, ${n - 1}) AS s(i);
VACUUM ANALYZE agent_call_audit;`;
}

/** The same N rows as CSV (header first), written once and reused. */
export function csvFile(n) {
  const cols = COLUMNS.split(', ');
  const cell = (v) => (v === null || v === undefined ? '' : String(v));
  return writeLines(join(ensureDataDir(), `audit-${n}.csv`), n, cols.join(','), (i) => {
    const r = row(i);
    return cols.map((c) => cell(r[c])).join(',');
  });
}
