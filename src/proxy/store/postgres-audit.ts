import type pg from 'pg';
import type { AuditFilter, AuditOutcome, AuditPage, AuditRow, AuditSummary } from './types.js';
import {
  auditWhere,
  decodeCursor,
  encodeCursor,
  mergeEndpoints,
  normalizeCountCost,
  roundUsd,
  toDollarParams,
  MINUTE_COST_SQL,
  minuteRow,
  COST_UNKNOWN_SQL,
} from './audit-shared.js';
import { toAuditRow } from './postgres-rows.js';

type Q = Pick<pg.Pool, 'query'>;

const COLS: ReadonlyArray<[keyof AuditRow, string]> = [
  ['started_at', 'timestamptz'],
  ['finished_at', 'timestamptz'],
  ['vault_key_id', 'text'],
  ['agent_run_id', 'text'],
  ['customer_scope_id', 'text'],
  ['vendor', 'text'],
  ['method', 'text'],
  ['path', 'text'],
  ['policy_verdict', 'text'],
  ['vendor_status', 'int'],
  ['cost_usd_parsed', 'float8'],
  ['upstream_key_id', 'text'],
  ['latency_ms', 'float8'],
  ['instance_id', 'text'],
  ['call_id', 'text'],
  ['outcome', 'text'],
  ['amount_usd_estimated', 'float8'],
];

const OUTCOME_COLS: ReadonlyArray<[keyof AuditOutcome, string]> = [
  ['call_id', 'text'],
  ['finished_at', 'timestamptz'],
  ['policy_verdict', 'text'],
  ['vendor_status', 'int'],
  ['cost_usd_parsed', 'float8'],
  ['latency_ms', 'float8'],
];

const unnest = (cols: ReadonlyArray<[string, string]>, from: number) =>
  `unnest(${cols.map(([, t], i) => `$${i + from}::${t}[]`).join(', ')})`;

/**
 * One statement per batch whatever its size (one array parameter per column, unnested), so one
 * round trip and one commit: the new rows (a call_id already there is skipped, so a batch
 * retried after a lost acknowledgement is not written twice), then the outcomes completing
 * earlier rows (never rows of the same batch: an outcome is only made after its row committed).
 */
export const APPEND_SQL = `WITH ins AS (
    INSERT INTO agent_call_audit (${COLS.map(([c]) => c).join(', ')})
    SELECT * FROM ${unnest(COLS, 1)} ON CONFLICT (call_id) DO NOTHING RETURNING 1)
  UPDATE agent_call_audit a SET outcome = 'complete', finished_at = o.finished_at, policy_verdict = o.policy_verdict,
    vendor_status = o.vendor_status, cost_usd_parsed = o.cost_usd_parsed, latency_ms = o.latency_ms
  FROM ${unnest(OUTCOME_COLS, COLS.length + 1)} AS o(${OUTCOME_COLS.map(([c]) => c).join(', ')})
  WHERE a.call_id = o.call_id`;

export function appendParams(rows: AuditRow[], outcomes: AuditOutcome[]): unknown[][] {
  const filled = rows.map((r) => ({ ...r, outcome: r.outcome ?? 'complete' }));
  return [
    ...COLS.map(([c]) => filled.map((r) => r[c] ?? null)),
    ...OUTCOME_COLS.map(([c]) => outcomes.map((o) => o[c] ?? null)),
  ];
}

export async function queryAudit(db: Q, filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage> {
  const after = decodeCursor(cursor);
  const { sql, params } = auditWhere(filter);
  const where = sql ? `${sql} AND id > ?` : 'WHERE id > ?';
  const res = await db.query(toDollarParams(`SELECT * FROM agent_call_audit ${where} ORDER BY id LIMIT ?`), [
    ...params,
    after,
    limit + 1,
  ]);
  const rows = res.rows.map(toAuditRow);
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: more && last?.id !== undefined ? encodeCursor(last.id) : null };
}

/** Run it inside one snapshot (PostgresStore.summarizeAudit): its queries must see the same rows. */
export async function summarizeAudit(db: Q, filter: AuditFilter, revokedAt?: string): Promise<AuditSummary> {
  const { sql, params } = auditWhere(filter);
  const allowed = sql ? `${sql} AND policy_verdict = 'allowed'` : `WHERE policy_verdict = 'allowed'`;
  const all = async <T>(q: string) => (await db.query(toDollarParams(q), params)).rows as T[];
  const [totals] = await all<{
    n: number;
    first: string | null;
    last: string | null;
    cost: number | null;
    nocost: number | null;
  }>(
    `SELECT COUNT(*) AS n, MIN(started_at) AS first, MAX(started_at) AS last, SUM(cost_usd_parsed) AS cost, ${COST_UNKNOWN_SQL} FROM agent_call_audit ${sql}`,
  );
  const byVerdict = await all<{ v: string; n: number }>(
    `SELECT policy_verdict AS v, COUNT(*) AS n FROM agent_call_audit ${sql} GROUP BY v`,
  );
  const group = (col: string) =>
    all<Record<string, unknown> & { calls: number; cost_usd: number }>(
      `SELECT ${col}, COUNT(*) AS calls, COALESCE(SUM(cost_usd_parsed), 0) AS cost_usd FROM agent_call_audit ${allowed}
       GROUP BY ${col} ORDER BY cost_usd DESC, calls DESC`,
    );
  const perMinute = await all<{ m: string; calls: number; cost: number; nocost: number }>(
    `SELECT to_char(date_trunc('minute', started_at), 'YYYY-MM-DD"T"HH24:MI') AS m, COUNT(*) AS calls, ${MINUTE_COST_SQL}
     FROM agent_call_audit ${sql} GROUP BY m ORDER BY m`,
  );
  const [unknown] = await all<{ n: number; amount: number | null; pending: number | null }>(
    `SELECT COUNT(*) AS n, SUM(amount_usd_estimated) AS amount, COUNT(*) FILTER (WHERE outcome = 'pending') AS pending
     FROM agent_call_audit ${sql ? `${sql} AND` : 'WHERE'} outcome <> 'complete'`,
  );
  const by_verdict: Record<string, number> = {};
  for (const r of byVerdict) by_verdict[r.v] = Number(r.n);
  const after = revokedAt === undefined ? undefined : await afterRevoke(db, sql, params, revokedAt);
  return {
    calls_total: Number(totals?.n ?? 0),
    by_verdict,
    calls_allowed: by_verdict.allowed ?? 0,
    cost_usd: roundUsd(totals?.cost),
    customers: normalizeCountCost((await group('customer_scope_id')) as never),
    endpoints: mergeEndpoints((await group('method, path')) as never),
    per_minute: perMinute.map(minuteRow),
    first_call: totals?.first ?? null,
    last_call: totals?.last ?? null,
    agent_runs: normalizeCountCost((await group('agent_run_id')) as never),
    vault_keys: normalizeCountCost((await group('vault_key_id')) as never),
    calls_cost_unknown: Number(totals?.nocost ?? 0),
    outcome_unknown: {
      calls: Number(unknown?.n ?? 0),
      amount_usd_estimated: roundUsd(unknown?.amount),
      pending: Number(unknown?.pending ?? 0),
    },
    ...(after ? { after_revoke: after } : {}),
  };
}

async function afterRevoke(
  db: Q,
  sql: string,
  params: unknown[],
  at: string,
): Promise<NonNullable<AuditSummary['after_revoke']>> {
  const res = await db.query(
    toDollarParams(`SELECT COUNT(*) FILTER (WHERE started_at >= ?::timestamptz) AS later,
       COUNT(*) FILTER (WHERE started_at >= ?::timestamptz AND policy_verdict = 'allowed') AS later_allowed,
       COUNT(*) FILTER (WHERE started_at < ?::timestamptz AND finished_at > ?::timestamptz) AS in_flight
     FROM agent_call_audit ${sql}`),
    [at, at, at, at, ...params],
  );
  const r = res.rows[0] as { later: unknown; later_allowed: unknown; in_flight: unknown } | undefined;
  return {
    later: Number(r?.later ?? 0),
    later_allowed: Number(r?.later_allowed ?? 0),
    in_flight: Number(r?.in_flight ?? 0),
  };
}

export async function sumByKey(db: Q, q: string, params: unknown[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of (await db.query(q, params)).rows as Array<{ k: string; v: number | null }>)
    out.set(r.k, Number(r.v ?? 0));
  return out;
}

/** Delete every audit row that started before `day` (`YYYY-MM-DD`, UTC); uses the started_at index. */
export async function pruneAuditBefore(db: Q, day: string): Promise<number> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new RangeError(`day "${day}" is not YYYY-MM-DD`);
  const res = await db.query(`DELETE FROM agent_call_audit WHERE started_at < $1::date::timestamptz`, [day]);
  return res.rowCount ?? 0;
}
