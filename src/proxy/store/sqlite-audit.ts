import type Database from 'better-sqlite3';
import type { AuditFilter, AuditOutcome, AuditPage, AuditRow, AuditSummary } from './types.js';
import { AUDIT_COLUMNS } from './sqlite-schema.js';
import {
  auditWhere,
  decodeCursor,
  encodeCursor,
  mergeEndpoints,
  normalizeCountCost,
  roundUsd,
  MINUTE_COST_SQL,
  minuteRow,
  COST_UNKNOWN_SQL,
} from './audit-shared.js';
import { TxBuilder } from './sqlite-writer.js';

type Db = Database.Database;

/** Positional parameters: binding by name costs more than the insert itself. A repeated call_id is skipped. */
const INSERT_SQL = `INSERT OR IGNORE INTO agent_call_audit (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')})`;
const OUTCOME_SQL = `UPDATE agent_call_audit SET outcome = 'complete', finished_at = ?, policy_verdict = ?, vendor_status = ?,
  cost_usd_parsed = ?, latency_ms = ? WHERE call_id = ?`;

/** One transaction: the batch's new rows, then the outcomes completing earlier rows (group commit). */
export function appendTx(rows: AuditRow[], outcomes: AuditOutcome[]): TxBuilder {
  const t = new TxBuilder();
  for (const r of rows)
    t.add(INSERT_SQL, [
      r.started_at,
      r.finished_at,
      r.vault_key_id,
      r.agent_run_id,
      r.customer_scope_id,
      r.vendor,
      r.method,
      r.path,
      r.policy_verdict,
      r.vendor_status,
      r.cost_usd_parsed,
      r.upstream_key_id,
      r.latency_ms,
      r.instance_id,
      r.call_id ?? null,
      r.outcome ?? 'complete',
      r.amount_usd_estimated ?? null,
    ]);
  for (const o of outcomes)
    t.add(OUTCOME_SQL, [o.finished_at, o.policy_verdict, o.vendor_status, o.cost_usd_parsed, o.latency_ms, o.call_id]);
  return t;
}

/** A table from before write-ahead audit (a damage fixture, an old export) has no outcome column. */
const hasOutcome = new WeakMap<Db, boolean>();
function outcomeKnown(db: Db): boolean {
  let v = hasOutcome.get(db);
  if (v === undefined) {
    v = (db.prepare(`PRAGMA table_info(agent_call_audit)`).all() as Array<{ name: string }>).some(
      (c) => c.name === 'outcome',
    );
    hasOutcome.set(db, v);
  }
  return v;
}

function outcomeUnknown(db: Db, sql: string, params: unknown[]): AuditSummary['outcome_unknown'] {
  if (!outcomeKnown(db)) return { calls: 0, amount_usd_estimated: 0, pending: 0 };
  const where = sql ? `${sql} AND outcome <> 'complete'` : `WHERE outcome <> 'complete'`;
  const r = db
    .prepare(
      `SELECT COUNT(*) AS n, SUM(amount_usd_estimated) AS amount, SUM(outcome = 'pending') AS pending FROM agent_call_audit ${where}`,
    )
    .get(...params) as { n: number; amount: number | null; pending: number | null };
  return { calls: r.n, amount_usd_estimated: roundUsd(r.amount), pending: r.pending ?? 0 };
}

export function queryAudit(db: Db, filter: AuditFilter, limit: number, cursor: string | null): AuditPage {
  const after = decodeCursor(cursor);
  const { sql, params } = auditWhere(filter);
  const where = sql ? `${sql} AND id > ?` : 'WHERE id > ?';
  const rows = db
    .prepare(`SELECT * FROM agent_call_audit ${where} ORDER BY id LIMIT ?`)
    .all(...params, after, limit + 1) as AuditRow[];
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: more && last?.id !== undefined ? encodeCursor(last.id) : null };
}

/**
 * One read transaction: the writer thread commits between these statements otherwise, and a
 * summary read across commits can disagree with itself (a call counted as of unknown cost in one
 * total and with its cost in another).
 */
export function summarizeAudit(db: Db, filter: AuditFilter, revokedAt?: string): AuditSummary {
  return db.transaction(() => summaryIn(db, filter, revokedAt))();
}

/** After a revoke at `at` (ISO, same form as the rows' times): later calls, and calls in flight at `at`. */
export const AFTER_REVOKE_SQL = `SELECT COALESCE(SUM(CASE WHEN started_at >= ? THEN 1 ELSE 0 END), 0) AS later,
  COALESCE(SUM(CASE WHEN started_at >= ? AND policy_verdict = 'allowed' THEN 1 ELSE 0 END), 0) AS later_allowed,
  COALESCE(SUM(CASE WHEN started_at < ? AND finished_at > ? THEN 1 ELSE 0 END), 0) AS in_flight FROM agent_call_audit`;

function summaryIn(db: Db, filter: AuditFilter, revokedAt: string | undefined): AuditSummary {
  const { sql, params } = auditWhere(filter);
  const allowed = sql ? `${sql} AND policy_verdict = 'allowed'` : `WHERE policy_verdict = 'allowed'`;
  const all = <T>(q: string, p: unknown[] = params) => db.prepare(q).all(...p) as T[];
  const totals = db
    .prepare(
      `SELECT COUNT(*) AS n, MIN(started_at) AS first, MAX(started_at) AS last, SUM(cost_usd_parsed) AS cost, ${COST_UNKNOWN_SQL} FROM agent_call_audit ${sql}`,
    )
    .get(...params) as {
    n: number;
    first: string | null;
    last: string | null;
    cost: number | null;
    nocost: number | null;
  };
  const byVerdict = all<{ v: string; n: number }>(
    `SELECT policy_verdict AS v, COUNT(*) AS n FROM agent_call_audit ${sql} GROUP BY v`,
  );
  const group = (col: string) =>
    all<Record<string, unknown> & { calls: number; cost_usd: number }>(
      `SELECT ${col}, COUNT(*) AS calls, COALESCE(SUM(cost_usd_parsed), 0) AS cost_usd FROM agent_call_audit ${allowed} GROUP BY ${col} ORDER BY cost_usd DESC, calls DESC`,
    );
  const perMinute = all<{ m: string; calls: number; cost: number; nocost: number }>(
    `SELECT substr(started_at, 1, 16) AS m, COUNT(*) AS calls, ${MINUTE_COST_SQL} FROM agent_call_audit ${sql} GROUP BY m ORDER BY m`,
  );
  const by_verdict: Record<string, number> = {};
  for (const r of byVerdict) by_verdict[r.v] = r.n;
  return {
    calls_total: totals.n,
    by_verdict,
    calls_allowed: by_verdict.allowed ?? 0,
    cost_usd: roundUsd(totals.cost),
    customers: normalizeCountCost(group('customer_scope_id') as never),
    endpoints: mergeEndpoints(group('method, path') as never),
    per_minute: perMinute.map(minuteRow),
    first_call: totals.first,
    last_call: totals.last,
    agent_runs: normalizeCountCost(group('agent_run_id') as never),
    vault_keys: normalizeCountCost(group('vault_key_id') as never),
    calls_cost_unknown: totals.nocost ?? 0,
    outcome_unknown: outcomeUnknown(db, sql, params),
    ...(revokedAt === undefined ? {} : { after_revoke: afterRevoke(db, sql, params, revokedAt) }),
  };
}

function afterRevoke(db: Db, sql: string, params: unknown[], at: string): NonNullable<AuditSummary['after_revoke']> {
  const r = db.prepare(`${AFTER_REVOKE_SQL} ${sql}`).get(at, at, at, at, ...params) as {
    later: number;
    later_allowed: number;
    in_flight: number;
  };
  return { later: Number(r.later), later_allowed: Number(r.later_allowed), in_flight: Number(r.in_flight) };
}

export function sumByKey(db: Db, q: string, params: unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of db.prepare(q).all(...params) as Array<{ k: string; v: number }>) out.set(r.k, Number(r.v ?? 0));
  return out;
}
