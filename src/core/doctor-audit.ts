import type { Settings } from './config.js';
import type { SecretRegistry } from './secrets.js';
import { auditSourceFromFlags } from './damage/resolve.js';
import { computeDamage } from './damage/damage.js';
import type { DamageSummary } from './damage/types.js';
import type { Check } from './doctor.js';

/**
 * When the team keeps its own audit table (audit_source: PostgreSQL, SQLite, JSONL, CSV), check
 * it the way the next incident will read it: a damage summary over the last day. A missing
 * column fails the query; a column that is there but never filled fails here, with the fix.
 */
export interface AuditSourceEnv {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  secrets: SecretRegistry;
  trace?: (line: string) => void;
}

const TITLE = "the team's own audit table has the four forensic columns, filled";

export function judgeSummary(s: DamageSummary, label: string): Check {
  const id = 'audit-source';
  if (s.empty) return { id, title: TITLE, status: 'pass', detail: `${label}: readable, no rows in the last day` };
  const empty: string[] = [];
  if (s.customers.every((c) => c.customer_scope_id === null)) empty.push('customer_scope_id');
  if (s.agent_runs.every((r) => r.agent_run_id === null)) empty.push('agent_run_id');
  if (s.calls_allowed > 0 && s.cost_usd === 0) empty.push('cost_usd_parsed');
  if (Object.keys(s.by_verdict).every((v) => v === '' || v === 'null')) empty.push('policy_verdict');
  if (empty.length)
    return {
      id,
      title: TITLE,
      status: 'fail',
      detail: `${label}: ${s.calls_total} rows in the last day, never filled: ${empty.join(', ')}`,
      fix: 'write them on every call (the proxy does), or map your column names with audit_columns (e.g. customer_scope_id=customer)',
    };
  return {
    id,
    title: TITLE,
    status: 'pass',
    detail: `${label}: ${s.calls_total} rows in the last day, all four filled`,
  };
}

export async function checkAuditSource(settings: Settings, ctx: AuditSourceEnv): Promise<Check | undefined> {
  const spec = settings.get('audit_source');
  if (!spec || spec === 'proxy') return undefined;
  try {
    const source = await auditSourceFromFlags({}, settings, ctx);
    const now = Date.now();
    return judgeSummary(await computeDamage(source, { from: now - 24 * 3600_000, to: now + 60_000 }), source.label);
  } catch (err) {
    return {
      id: 'audit-source',
      title: TITLE,
      status: 'fail',
      detail: (err as Error).message,
      fix: 'check audit_source, audit_table and audit_columns (tourniquet config list); the table needs policy_verdict, cost_usd_parsed, customer_scope_id, agent_run_id',
    };
  }
}
