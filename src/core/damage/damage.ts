import type { AuditSource, DamageQuery, DamageSummary } from './types.js';
import { summarize } from './summary.js';
import { usageError } from '../errors.js';
import { parseDuration, parseInstant } from './time.js';

export interface WindowFlags {
  since?: string;
  from?: string;
  to?: string;
  revokedAt?: string;
  vaultKey?: string;
  agentRun?: string;
  customer?: string;
}

/** Flags to a query. `--since` and `--from` are exclusive; `--to` defaults to now with `--since`. */
export function buildQuery(f: WindowFlags, now: number): DamageQuery {
  if (f.since !== undefined && f.from !== undefined)
    throw usageError('--since and --from both given', 'use one: --since 30m, or --from/--to');
  const q: DamageQuery = {};
  if (f.since !== undefined) {
    q.to = f.to !== undefined ? parseInstant(f.to, '--to', now) : now;
    q.from = q.to - parseDuration(f.since, '--since');
  } else {
    if (f.from !== undefined) q.from = parseInstant(f.from, '--from', now);
    if (f.to !== undefined) q.to = parseInstant(f.to, '--to', now);
  }
  if (q.from !== undefined && q.to !== undefined && q.from >= q.to)
    throw usageError('the window is empty: --from is not before --to');
  if (f.revokedAt !== undefined) q.revoked_at = parseInstant(f.revokedAt, '--revoked-at', now);
  if (f.vaultKey !== undefined) q.vault_key_id = f.vaultKey;
  if (f.agentRun !== undefined) q.agent_run_id = f.agentRun;
  if (f.customer !== undefined) q.customer_scope_id = f.customer;
  return q;
}

/** Read one source for one query and summarise it. The source is closed either way. */
export async function computeDamage(
  source: AuditSource,
  query: DamageQuery,
  signal?: AbortSignal,
): Promise<DamageSummary> {
  try {
    return summarize(await source.aggregate(query, signal), query, source.label);
  } finally {
    await source.close?.();
  }
}
