import type { Aggregate, Counted, DamageQuery, DamageSummary, MinuteCount } from './types.js';
import { ALLOWED_VERDICTS } from './accumulate.js';
import { findAnomalyStart } from './anomaly.js';
import { MINUTE_MS, toIso } from './time.js';

/** The timeline is gap-filled; past this many minutes it is left sparse (only minutes with calls). */
export const MAX_TIMELINE_MINUTES = 7 * 24 * 60;

const usd = (micros: number) => Math.round(micros) / 1_000_000;

/** Biggest cost first, then most calls, then by key: the same order whatever the source. */
function ranked<K, N extends string>(
  map: Map<K, Counted>,
  name: N,
): ({ [P in N]: K } & { calls: number; cost_usd: number })[] {
  return [...map.entries()]
    .sort(
      ([ka, a], [kb, b]) =>
        b.cost_micros - a.cost_micros || b.calls - a.calls || String(ka ?? '').localeCompare(String(kb ?? '')),
    )
    .map(
      ([k, c]) =>
        ({ [name]: k, calls: c.calls, cost_usd: usd(c.cost_micros) }) as { [P in N]: K } & {
          calls: number;
          cost_usd: number;
        },
    );
}

function timelineBounds(agg: Aggregate, q: DamageQuery): [number, number] | null {
  if (agg.first_call === null || agg.last_call === null) return null;
  const first = Math.floor((q.from ?? agg.first_call) / MINUTE_MS);
  const last = Math.floor((q.to !== undefined ? q.to - 1 : agg.last_call) / MINUTE_MS);
  return [first, Math.max(first, last)];
}

function timeline(agg: Aggregate, q: DamageQuery): { minutes: number[]; calls: number[] } {
  const bounds = timelineBounds(agg, q);
  if (!bounds) return { minutes: [], calls: [] };
  const [first, last] = bounds;
  const minutes: number[] = [];
  if (last - first <= MAX_TIMELINE_MINUTES) for (let m = first; m <= last; m++) minutes.push(m);
  else minutes.push(...[...agg.per_minute.keys()].sort((a, b) => a - b));
  return { minutes, calls: minutes.map((m) => agg.per_minute.get(m) ?? 0) };
}

/** Turn a source's aggregate into the summary: sorted, gap-filled, anomaly found, in UTC. */
export function summarize(agg: Aggregate, q: DamageQuery, source: string): DamageSummary {
  const { minutes, calls } = timeline(agg, q);
  const anomaly = findAnomalyStart(calls);
  const per_minute: MinuteCount[] = minutes.map((m, i) => ({
    minute: new Date(m * MINUTE_MS).toISOString(),
    calls: calls[i]!,
  }));
  const by_verdict = Object.fromEntries([...agg.by_verdict.entries()].sort(([a], [b]) => a.localeCompare(b)));
  const calls_allowed = [...agg.by_verdict.entries()].reduce((n, [v, c]) => (ALLOWED_VERDICTS.has(v) ? n + c : n), 0);
  const endpoints = [...agg.endpoints.entries()]
    .sort(([ka, a], [kb, b]) => b.calls - a.calls || b.cost_micros - a.cost_micros || ka.localeCompare(kb))
    .map(([, e]) => ({ method: e.method, path: e.path, calls: e.calls, cost_usd: usd(e.cost_micros) }));
  const filter = Object.fromEntries(
    (['vault_key_id', 'agent_run_id', 'customer_scope_id'] as const)
      .filter((k) => q[k] !== undefined)
      .map((k) => [k, q[k]]),
  );
  return {
    source,
    filter,
    window: { from: toIso(q.from), to: toIso(q.to) },
    empty: agg.calls_total === 0,
    calls_total: agg.calls_total,
    by_verdict,
    calls_allowed,
    cost_usd: usd(agg.cost_micros),
    customers: ranked(agg.customers, 'customer_scope_id'),
    endpoints,
    per_minute,
    baseline_per_minute: anomaly.baseline === null ? null : Math.round(anomaly.baseline * 100) / 100,
    anomaly_start: anomaly.index === null ? null : per_minute[anomaly.index]!.minute,
    first_call: toIso(agg.first_call),
    last_call: toIso(agg.last_call),
    agent_runs: ranked(agg.agent_runs, 'agent_run_id'),
    vault_keys: ranked(agg.vault_keys, 'vault_key_id'),
    after_revoke:
      agg.after_revoke && q.revoked_at !== undefined
        ? {
            revoked_at: toIso(q.revoked_at)!,
            in_flight: agg.after_revoke.in_flight,
            later: agg.after_revoke.later,
            later_allowed: agg.after_revoke.later_allowed,
          }
        : null,
    bad_rows: agg.bad_rows,
    cost_unknown:
      agg.cost_unknown_calls === null
        ? null
        : {
            calls: agg.cost_unknown_calls,
            share: calls_allowed > 0 ? Math.round((agg.cost_unknown_calls / calls_allowed) * 10_000) / 10_000 : 0,
          },
    outcome_unknown: {
      calls: agg.outcome_unknown.calls,
      amount_usd_estimated: usd(agg.outcome_unknown.estimated_micros),
    },
  };
}
