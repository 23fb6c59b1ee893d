import type { HttpClient } from './http.js';
import { fetchRates, type KeyRate } from './incident/rates.js';
import { usd } from './money.js';

/**
 * `watch`: calls per minute per vault key against that key's own baseline, sampled from the
 * proxy. A key is anomalous above `threshold` times its baseline (seed 002: alert at 5x).
 * Alerts fire once when a key becomes anomalous, not on every sample while it stays so.
 */
export interface Sample {
  at: string;
  threshold: number;
  keys: KeyRate[];
  anomalies: KeyRate[];
  /** Keys that became anomalous with this sample (what an alert is sent for). */
  new_anomalies: KeyRate[];
}

export class AlertState {
  private readonly firing = new Set<string>();

  /** The anomalies not already firing; keys back under the threshold are cleared. */
  update(anomalies: readonly KeyRate[]): KeyRate[] {
    const now = new Set(anomalies.map((k) => k.vault_key_id));
    for (const id of [...this.firing]) if (!now.has(id)) this.firing.delete(id);
    const fresh = anomalies.filter((k) => !this.firing.has(k.vault_key_id));
    for (const k of fresh) this.firing.add(k.vault_key_id);
    return fresh;
  }
}

export async function sample(admin: HttpClient, threshold: number, alerts: AlertState): Promise<Sample> {
  const keys = await fetchRates(admin, threshold);
  const anomalies = keys.filter((k) => k.anomalous);
  return { at: new Date().toISOString(), threshold, keys, anomalies, new_anomalies: alerts.update(anomalies) };
}

/** The alert for a chat channel: which keys, how far above baseline, and the command that stops them. */
export function alertText(keys: readonly KeyRate[], threshold: number): string {
  const lines = keys.map(
    (k) =>
      `• ${k.agent ?? k.vault_key_id} (${k.vault_key_id}, ${k.vendor}): ${Math.round(k.calls_per_minute)} calls/min, ${k.multiple}x its baseline of ${k.baseline_per_minute}/min; ${usd(k.spend_usd_10m)} in 10 min`,
  );
  const stop = keys.map((k) => `tourniquet incident --scenario runaway-loop --vault-key ${k.vault_key_id}`);
  return [
    `tourniquet watch: ${keys.length} vault key${keys.length === 1 ? '' : 's'} above ${threshold}x baseline`,
    ...lines,
    `Stop it: ${stop[0]}`,
  ].join('\n');
}
