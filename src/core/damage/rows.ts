import type { AuditRow } from './types.js';
import type { ColumnMap } from './columns.js';
import { parseAuditTime } from './time.js';

const str = (v: unknown): string | null => (v === null || v === undefined || v === '' ? null : String(v));

function cost(v: unknown): number {
  if (v === null || v === undefined || v === '') return 0;
  return typeof v === 'number' ? v : Number(v);
}

/**
 * A record (JSON object, CSV row) to an AuditRow, or null when it cannot be read: no start time,
 * or a cost that is not a number. Such rows are counted as bad, never guessed at.
 */
export function normalizeRecord(rec: Record<string, unknown>, cols: ColumnMap): AuditRow | null {
  const started = parseAuditTime(rec[cols.started_at]);
  if (Number.isNaN(started)) return null;
  const usd = cost(rec[cols.cost_usd_parsed]);
  if (!Number.isFinite(usd)) return null;
  const finishedRaw = rec[cols.finished_at];
  const finished = finishedRaw === null || finishedRaw === undefined || finishedRaw === '' ? null : parseAuditTime(finishedRaw);
  return {
    started_at: started,
    finished_at: finished === null || Number.isNaN(finished) ? null : finished,
    vault_key_id: str(rec[cols.vault_key_id]),
    agent_run_id: str(rec[cols.agent_run_id]),
    customer_scope_id: str(rec[cols.customer_scope_id]),
    method: str(rec[cols.method]),
    path: str(rec[cols.path]),
    policy_verdict: str(rec[cols.policy_verdict]) ?? 'unknown',
    cost_usd: usd,
  };
}
