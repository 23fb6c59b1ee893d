import type { AuditFilter, AuditPage, AuditRow, AuditSummary, CountCost } from './types.js';
import { decodeCursor, encodeCursor, mergeEndpoints, minuteRow, normalizeCountCost, roundUsd } from './audit-shared.js';

/**
 * The audit queries of the in-memory store, answering exactly what the SQLite store's SQL
 * answers (same filters, same grouping, same order), so the admin API cannot tell them apart.
 */
export function matches(r: AuditRow, f: AuditFilter): boolean {
  return (
    (f.vault_key_id === undefined || r.vault_key_id === f.vault_key_id) &&
    (f.agent_run_id === undefined || r.agent_run_id === f.agent_run_id) &&
    (f.customer_scope_id === undefined || r.customer_scope_id === f.customer_scope_id) &&
    (f.verdict === undefined || r.policy_verdict === f.verdict) &&
    (f.vendor === undefined || r.vendor === f.vendor) &&
    (f.from === undefined || r.started_at >= f.from) &&
    (f.to === undefined || r.started_at < f.to)
  );
}

export function pageOf(
  rows: readonly AuditRow[],
  filter: AuditFilter,
  limit: number,
  cursor: string | null,
): AuditPage {
  const after = decodeCursor(cursor);
  const data: AuditRow[] = [];
  let more = false;
  for (const r of rows) {
    if (r.id! <= after || !matches(r, filter)) continue;
    if (data.length === limit) {
      more = true;
      break;
    }
    data.push({ ...r });
  }
  const last = data[data.length - 1];
  return { data, next_cursor: more && last?.id !== undefined ? encodeCursor(last.id) : null };
}

type Group = CountCost & { cost: number | null };

/** GROUP BY one key: COUNT(*) and COALESCE(SUM(cost), 0), the order SQL's ORDER BY cost DESC, calls DESC gives. */
function groupBy<K>(rows: readonly AuditRow[], key: (r: AuditRow) => K): Array<[K, CountCost]> {
  const groups = new Map<K, Group>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k) ?? { calls: 0, cost_usd: 0, cost: null };
    g.calls++;
    if (r.cost_usd_parsed !== null) g.cost = (g.cost ?? 0) + r.cost_usd_parsed;
    groups.set(k, g);
  }
  return [...groups.entries()]
    .map(([k, g]): [K, CountCost] => [k, { calls: g.calls, cost_usd: g.cost ?? 0 }])
    .sort(([, a], [, b]) => b.cost_usd - a.cost_usd || b.calls - a.calls);
}

export function summaryOf(all: readonly AuditRow[], filter: AuditFilter, revokedAt?: string): AuditSummary {
  const rows = all.filter((r) => matches(r, filter));
  const allowed = rows.filter((r) => r.policy_verdict === 'allowed');
  const by_verdict: Record<string, number> = {};
  const perMinute = new Map<string, { calls: number; cost: number; nocost: number }>();
  let cost: number | null = null;
  let first: string | null = null;
  let last: string | null = null;
  for (const r of rows) {
    by_verdict[r.policy_verdict] = (by_verdict[r.policy_verdict] ?? 0) + 1;
    const m = r.started_at.slice(0, 16);
    const pm = perMinute.get(m) ?? { calls: 0, cost: 0, nocost: 0 };
    pm.calls++;
    // As the SQL stores: the allowed calls' cost, and how many of them have none recorded.
    if (r.policy_verdict === 'allowed') {
      if (r.cost_usd_parsed === null) pm.nocost++;
      else pm.cost += r.cost_usd_parsed;
    }
    perMinute.set(m, pm);
    if (r.cost_usd_parsed !== null) cost = (cost ?? 0) + r.cost_usd_parsed;
    if (first === null || r.started_at < first) first = r.started_at;
    if (last === null || r.started_at > last) last = r.started_at;
  }
  const named = <F extends string>(field: F, key: (r: AuditRow) => string | null) =>
    normalizeCountCost(
      groupBy(allowed, key).map(([k, c]) => ({ [field]: k, ...c }) as Record<F, string | null> & CountCost),
    );
  return {
    calls_total: rows.length,
    by_verdict,
    calls_allowed: by_verdict.allowed ?? 0,
    cost_usd: roundUsd(cost),
    customers: named('customer_scope_id', (r) => r.customer_scope_id),
    endpoints: mergeEndpoints(
      groupBy(allowed, (r) => `${r.method} ${r.path}`).map(([k, c]) => ({
        method: k.slice(0, k.indexOf(' ')),
        path: k.slice(k.indexOf(' ') + 1),
        ...c,
      })),
    ),
    per_minute: [...perMinute.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([m, pm]) => minuteRow({ m, ...pm })),
    first_call: first,
    last_call: last,
    agent_runs: named('agent_run_id', (r) => r.agent_run_id),
    vault_keys: named('vault_key_id', (r) => r.vault_key_id),
    calls_cost_unknown: allowed.filter((r) => r.cost_usd_parsed === null).length,
    outcome_unknown: outcomeUnknown(rows),
    ...(revokedAt === undefined ? {} : { after_revoke: afterRevoke(rows, Date.parse(revokedAt)) }),
  };
}

function afterRevoke(rows: readonly AuditRow[], at: number): NonNullable<AuditSummary['after_revoke']> {
  const out = { later: 0, later_allowed: 0, in_flight: 0 };
  for (const r of rows) {
    if (Date.parse(r.started_at) >= at) {
      out.later++;
      if (r.policy_verdict === 'allowed') out.later_allowed++;
    } else if (Date.parse(r.finished_at) > at) out.in_flight++;
  }
  return out;
}

function outcomeUnknown(rows: readonly AuditRow[]): AuditSummary['outcome_unknown'] {
  const open = rows.filter((r) => r.outcome !== undefined && r.outcome !== 'complete');
  const amount = open.reduce<number | null>(
    (s, r) => (r.amount_usd_estimated == null ? s : (s ?? 0) + r.amount_usd_estimated),
    null,
  );
  return {
    calls: open.length,
    amount_usd_estimated: roundUsd(amount),
    pending: open.filter((r) => r.outcome === 'pending').length,
  };
}

/** SUM or COUNT per vault key over the rows that pass `keep` (keys without a vault key left out). */
export function perVaultKey(
  rows: readonly AuditRow[],
  keep: (r: AuditRow) => boolean,
  value: (r: AuditRow) => number | null,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    if (r.vault_key_id === null || !keep(r)) continue;
    out.set(r.vault_key_id, (out.get(r.vault_key_id) ?? 0) + (value(r) ?? 0));
  }
  return out;
}
