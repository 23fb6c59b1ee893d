import type { AuditFilter, AuditSummary, CountCost } from './types.js';

/**
 * Helpers both stores share for audit queries. The WHERE clause uses `?` placeholders;
 * the PostgreSQL store renumbers them to `$n` with `toDollarParams`.
 */
export function auditWhere(filter: AuditFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const eq = (col: string, v: string | undefined) => {
    if (v === undefined) return;
    parts.push(`${col} = ?`);
    params.push(v);
  };
  eq('vault_key_id', filter.vault_key_id);
  eq('agent_run_id', filter.agent_run_id);
  eq('customer_scope_id', filter.customer_scope_id);
  eq('policy_verdict', filter.verdict);
  eq('vendor', filter.vendor);
  if (filter.from !== undefined) {
    parts.push('started_at >= ?');
    params.push(filter.from);
  }
  if (filter.to !== undefined) {
    parts.push('started_at < ?');
    params.push(filter.to);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

/**
 * What an allowed call counts against its key's daily cap: its cost, or, for a forwarded call
 * that could not be metered (or whose outcome is unknown), the estimate written on its row
 * (src/proxy/limits/estimate.ts). A restart and the fleet's budget count both.
 */
export const CHARGED_USD_SQL = 'COALESCE(cost_usd_parsed, amount_usd_estimated)';

/** Allowed calls with no cost recorded (unknown cost), for the summary's `calls_cost_unknown`. */
export const COST_UNKNOWN_SQL = `SUM(CASE WHEN policy_verdict = 'allowed' AND cost_usd_parsed IS NULL THEN 1 ELSE 0 END) AS nocost`;

export function toDollarParams(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/**
 * Collapse object ids in a path so endpoints aggregate: `/v1/charges/ch_3Nq…` becomes
 * `/v1/charges/{id}`. A segment is an id when it carries a digit or a vendor id prefix.
 */
export function endpointTemplate(path: string): string {
  return path
    .split('/')
    .map((seg) =>
      seg.length > 0 &&
      (/\d/.test(seg) || /^[a-z]{2,6}_[A-Za-z0-9]{6,}/.test(seg)) &&
      !/^v\d+$/.test(seg) &&
      !/^\d{4}-\d{2}-\d{2}$/.test(seg)
        ? '{id}'
        : seg,
    )
    .join('/');
}

const round = (n: number) => Math.round(n * 1e6) / 1e6;

/** Merge endpoint rows whose paths share a template. */
export function mergeEndpoints(rows: Array<{ method: string; path: string } & CountCost>): AuditSummary['endpoints'] {
  const merged = new Map<string, { method: string; path: string } & CountCost>();
  for (const r of rows) {
    const path = endpointTemplate(r.path);
    const key = `${r.method} ${path}`;
    const cur = merged.get(key) ?? { method: r.method, path, calls: 0, cost_usd: 0 };
    cur.calls += Number(r.calls);
    cur.cost_usd += Number(r.cost_usd ?? 0);
    merged.set(key, cur);
  }
  return [...merged.values()].map((e) => ({ ...e, cost_usd: round(e.cost_usd) })).sort((a, b) => b.calls - a.calls);
}

export function normalizeCountCost<T extends object>(
  rows: Array<T & { calls: unknown; cost_usd: unknown }>,
): Array<T & CountCost> {
  return rows.map((r) => ({ ...r, calls: Number(r.calls), cost_usd: round(Number(r.cost_usd ?? 0)) }));
}

/** `2026-11-22T02:14` → `2026-11-22T02:14:00.000Z`. */
export function minuteIso(prefix: string): string {
  return `${prefix}:00.000Z`;
}

export function roundUsd(n: number | null | undefined): number {
  return round(Number(n ?? 0));
}

export function encodeCursor(id: number): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string | null): number {
  if (!cursor) return 0;
  const m = /^a:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new RangeError('cursor');
  return Number(m[1]);
}
