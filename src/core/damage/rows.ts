import type { AuditRow } from './types.js';
import type { ColumnMap } from './columns.js';
import { parseAuditTime } from './time.js';
import { valueText } from '../json.js';

/**
 * No single call moves a billion dollars: a cost beyond this (or negative, or not a finite
 * number) is a broken row, counted as bad, never added to the damage.
 */
export const MAX_CALL_COST_USD = 1e9;

/** No value written: absent, null, or an empty cell. */
export const isBlank = (v: unknown): boolean => v === null || v === undefined || v === '';

/** Write-ahead audit (C6): a row left `pending` or marked `unknown` was forwarded, its outcome never recorded. */
export const isUnknownOutcome = (v: unknown): boolean => v === 'pending' || v === 'unknown';

export const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : valueText(v));

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A cost column's value in dollars; NaN when it is not a sane cost (the row is then bad). Empty is 0. */
export function readCost(v: unknown): number {
  if (v === null || v === undefined || v === '') return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' && DECIMAL.test(v.trim()) ? Number(v) : NaN;
  return checkCost(n);
}

/** NaN unless 0 ≤ usd ≤ MAX_CALL_COST_USD (NaN and ±Infinity fail both tests). */
export const checkCost = (usd: number): number => (usd >= 0 && usd <= MAX_CALL_COST_USD ? usd : NaN);

/** A finished time: unreadable is unknown (null), never a reason to drop the row. */
export function readFinished(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const t = parseAuditTime(v);
  return Number.isNaN(t) ? null : t;
}

/**
 * A record (JSON object, CSV row) to an AuditRow, or null when it cannot be read: no start time,
 * or a cost that is not a sane number. Such rows are counted as bad, never guessed at.
 * The fast paths (scan/) produce exactly this for every line they accept.
 */
export function normalizeRecord(rec: Record<string, unknown>, cols: ColumnMap): AuditRow | null {
  // Own keys only: a column named `constructor` must not read Object's.
  const get = (col: string) => (Object.hasOwn(rec, col) ? rec[col] : undefined);
  const started = parseAuditTime(get(cols.started_at));
  if (Number.isNaN(started)) return null;
  const rawCost = get(cols.cost_usd_parsed);
  const usd = readCost(rawCost);
  if (Number.isNaN(usd)) return null;
  const estimate = readCost(get(cols.amount_usd_estimated));
  return {
    started_at: started,
    finished_at: readFinished(get(cols.finished_at)),
    vault_key_id: str(get(cols.vault_key_id)),
    agent_run_id: str(get(cols.agent_run_id)),
    customer_scope_id: str(get(cols.customer_scope_id)),
    method: str(get(cols.method)),
    path: str(get(cols.path)),
    policy_verdict: str(get(cols.policy_verdict)) ?? 'unknown',
    cost_usd: usd,
    cost_known: !isBlank(rawCost),
    outcome_unknown: isUnknownOutcome(get(cols.outcome)),
    // An unreadable estimate is no estimate (the row's own cost is what makes it bad).
    estimate_usd: Number.isNaN(estimate) ? 0 : estimate,
  };
}
