#!/usr/bin/env node
// The DuckDB peer of `tourniquet damage`, run as its own process (so its time and peak memory
// are measured the same way): load the audit file with read_json / read_csv, then the same
// GROUP BYs the summary needs. Prints the figures both must agree on as one JSON line.
//   node _damage-duckdb.mjs jsonl|csv auto|typed FILE REVOKED_AT_ISO
// auto: DuckDB infers the schema (what a person types first); typed: the columns are given.
import { DuckDBInstance } from '@duckdb/node-api';

const [format, mode, file, rev] = process.argv.slice(2);
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
const COLUMNS = `{started_at: 'TIMESTAMPTZ', finished_at: 'TIMESTAMPTZ', vault_key_id: 'VARCHAR', agent_run_id: 'VARCHAR', customer_scope_id: 'VARCHAR', method: 'VARCHAR', path: 'VARCHAR', policy_verdict: 'VARCHAR', cost_usd_parsed: 'DOUBLE'}`;
const reader = {
  'jsonl:auto': `read_json_auto(${quote(file)})`,
  'jsonl:typed': `read_json(${quote(file)}, format = 'newline_delimited', columns = ${COLUMNS})`,
  'csv:auto': `read_csv_auto(${quote(file)}, header = true)`,
  'csv:typed': `read_csv(${quote(file)}, header = true, types = ${COLUMNS})`,
}[`${format}:${mode}`];
if (!reader) throw new Error(`usage: _damage-duckdb.mjs jsonl|csv auto|typed FILE REVOKED_AT`);

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
await c.run(`SET TimeZone = 'UTC'`);
await c.run(`CREATE TEMP TABLE a AS SELECT started_at::TIMESTAMPTZ AS started_at, finished_at::TIMESTAMPTZ AS finished_at, vault_key_id, agent_run_id,
  customer_scope_id, method, path, policy_verdict, cost_usd_parsed::DOUBLE AS cost_usd_parsed FROM ${reader}`);
const rows = async (sql) => (await c.runAndReadAll(sql)).getRows();
const ok = `FROM a WHERE policy_verdict = 'allowed'`;
const verdicts = await rows(
  `SELECT policy_verdict, count(*), sum(cost_usd_parsed), min(started_at), max(started_at) FROM a GROUP BY 1`,
);
const customers = await rows(`SELECT customer_scope_id, count(*), sum(cost_usd_parsed) ${ok} GROUP BY 1`);
await rows(`SELECT method, path, count(*), sum(cost_usd_parsed) ${ok} GROUP BY 1, 2`);
await rows(`SELECT date_trunc('minute', started_at), count(*) FROM a GROUP BY 1`);
await rows(`SELECT agent_run_id, count(*), sum(cost_usd_parsed) ${ok} GROUP BY 1`);
await rows(`SELECT vault_key_id, count(*), sum(cost_usd_parsed) ${ok} GROUP BY 1`);
const r = quote(rev);
await rows(`SELECT count(*) FILTER (WHERE started_at >= ${r}), count(*) FILTER (WHERE started_at >= ${r} AND policy_verdict = 'allowed'),
  count(*) FILTER (WHERE started_at < ${r} AND finished_at > ${r}) FROM a`);
const calls = verdicts.reduce((n, v) => n + Number(v[1]), 0);
// The cost of the allowed verdicts only (ALLOWED_VERDICTS in src/core/damage/accumulate.ts), as damage sums it.
const ALLOWED = new Set(['allowed', 'allow', 'ok', 'pass']);
const cost = verdicts.reduce((n, v) => (ALLOWED.has(v[0]) ? n + Number(v[2] ?? 0) : n), 0);
process.stdout.write(
  JSON.stringify({ calls_total: calls, cost_usd: Math.round(cost * 100) / 100, customers: customers.length }) + '\n',
);
