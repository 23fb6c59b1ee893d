import type { RunningProxy } from '../../proxy/index.js';
import type { AuditRow } from '../../proxy/store/types.js';

/**
 * An hour of ordinary traffic before the demo starts, written to the proxy's audit table so
 * that each key has a baseline to be measured against (the proxy's /v1/rates compares the last
 * minute with the hour before the last ten minutes), one hour of it. It is history, not a figure of the run:
 * the damage summary and the comparison only count calls made during the demo.
 */
export interface HistorySpec {
  vault_key_id: string;
  agent_run_id: string;
  method: string;
  path: string;
  per_minute: number;
}

const MINUTE = 60_000;

export async function seedBaseline(proxy: RunningProxy, specs: HistorySpec[], now: number): Promise<number> {
  const rows: AuditRow[] = [];
  for (const s of specs) {
    const gap = MINUTE / s.per_minute;
    for (let t = now - 10 * MINUTE - gap; t > now - 70 * MINUTE + 15_000; t -= gap) {
      rows.push({
        started_at: new Date(t).toISOString(),
        finished_at: new Date(t + 40).toISOString(),
        vault_key_id: s.vault_key_id,
        agent_run_id: s.agent_run_id || null,
        customer_scope_id: null,
        vendor: 'stripe',
        method: s.method,
        path: s.path,
        policy_verdict: 'allowed',
        vendor_status: 200,
        cost_usd_parsed: null,
        upstream_key_id: null,
        latency_ms: 40,
        instance_id: proxy.instanceId,
      });
    }
  }
  await proxy.service.store.appendAudit(rows);
  return rows.length;
}
