import type { HttpClient } from '../http.js';
import { expectRoute } from '../../adapters/proxy/schemas.js';
import type { RateRow } from '../../adapters/proxy/answers.js';

/**
 * Live calls per minute per vault key against that key's own baseline (the proxy's
 * GET /v1/rates), the anomalous first. Shared by the guided incident and `watch`.
 */
export interface KeyRate {
  vault_key_id: string;
  agent: string | null;
  agent_run_id: string | null;
  vendor: string;
  status: string;
  calls_per_minute: number;
  baseline_per_minute: number;
  /** calls_per_minute ÷ baseline; null when the key has no baseline yet. */
  multiple: number | null;
  spend_usd_10m: number;
  anomalous: boolean;
}

export const DEFAULT_THRESHOLD = 5;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : Number(v) || 0);

/** One row of GET /v1/rates; partial rows (tests, the demo) read as zero rates and defaults. */
export function toKeyRate(r: Partial<RateRow> & Pick<RateRow, 'vault_key_id'>, threshold: number): KeyRate {
  const cpm = num(r.calls_per_minute);
  const base = num(r.baseline_per_minute);
  const multiple = base > 0 ? cpm / base : null;
  return {
    vault_key_id: r.vault_key_id,
    agent: r.agent ?? null,
    agent_run_id: r.agent_run_id ?? null,
    vendor: String(r.vendor ?? ''),
    status: String(r.status ?? 'active'),
    calls_per_minute: cpm,
    baseline_per_minute: base,
    multiple: multiple === null ? null : Math.round(multiple * 10) / 10,
    spend_usd_10m: num(r.spend_usd_10m),
    anomalous: r.status !== 'revoked' && multiple !== null && multiple >= threshold,
  };
}

/** Anomalous first, then by how far above baseline, then by rate. */
export function rankRates(rates: KeyRate[]): KeyRate[] {
  return [...rates].sort(
    (a, b) =>
      Number(b.anomalous) - Number(a.anomalous) ||
      (b.multiple ?? 0) - (a.multiple ?? 0) ||
      b.calls_per_minute - a.calls_per_minute ||
      a.vault_key_id.localeCompare(b.vault_key_id),
  );
}

export async function fetchRates(admin: HttpClient, threshold = DEFAULT_THRESHOLD): Promise<KeyRate[]> {
  const res = await admin.get('/v1/rates', { expect: expectRoute('GET /v1/rates') });
  return rankRates(res.body.data.map((r) => toKeyRate(r, threshold)));
}
