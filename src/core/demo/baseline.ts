import type { RunningProxy } from '../../proxy/index.js';
import type { AuditRow } from '../../proxy/store/types.js';

/**
 * The hour before the demo, written to the proxy's audit table so that each key has a baseline
 * to be measured against: one call a minute, at half past each minute, up to the moment the demo
 * starts. Both definitions of "baseline" then read the same 1/min: the proxy's live rates (calls
 * per minute over the hour before the last ten minutes) and the damage summary's anomaly rule
 * (the mean of the minutes before the one judged). Reads (GET), no customer, no cost: history,
 * not damage; the damage summary shows them as ordinary traffic before the anomaly.
 */
export interface HistorySpec {
  vault_key_id: string;
  agent_run_id: string;
  method: string;
  path: string;
}

const MINUTE = 60_000;
export const BASELINE_PER_MINUTE = 1;
export const HISTORY_MINUTES = 70;

export async function seedBaseline(proxy: RunningProxy, specs: HistorySpec[], now: number): Promise<number> {
  const rows: AuditRow[] = [];
  const thisMinute = Math.floor(now / MINUTE) * MINUTE;
  for (const s of specs) {
    for (let m = thisMinute - HISTORY_MINUTES * MINUTE; m <= thisMinute; m += MINUTE) {
      const t = m + MINUTE / 2;
      if (t >= now) break;
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
