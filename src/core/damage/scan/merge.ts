import type { Aggregate, BadRows, Counted } from '../types.js';
import { MAX_BAD_LINES, addCounted as addEntry, addEndpoint } from '../accumulate.js';

function addCounts<K>(into: Map<K, number>, from: Map<K, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

function addCounted<K>(into: Map<K, Counted>, from: Map<K, Counted>): void {
  for (const [k, c] of from) addEntry(into, k, c);
}

/** Per-minute sums that a source may not give (null): unknown stays unknown once merged. */
function addNullable<K>(into: Map<K, number> | null, from: Map<K, number> | null): Map<K, number> | null {
  if (into === null || from === null) return null;
  addCounts(into, from);
  return into;
}

const min = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const max = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/**
 * Add one stretch's aggregate to another's. Every part is a count or an integer sum, so the
 * order stretches are added in does not change the result. Bad rows are merged by the caller,
 * who knows where each stretch starts.
 */
export function mergeAggregate(into: Aggregate, from: Aggregate): void {
  into.calls_total += from.calls_total;
  into.cost_micros += from.cost_micros;
  addCounts(into.by_verdict, from.by_verdict);
  addCounts(into.per_minute, from.per_minute);
  into.per_minute_cost = addNullable(into.per_minute_cost, from.per_minute_cost);
  into.per_minute_cost_unknown = addNullable(into.per_minute_cost_unknown, from.per_minute_cost_unknown);
  addCounted(into.customers, from.customers);
  addCounted(into.agent_runs, from.agent_runs);
  addCounted(into.vault_keys, from.vault_keys);
  for (const e of from.endpoints.values()) addEndpoint(into, e.method, e.path, e);
  into.cost_unknown_calls =
    into.cost_unknown_calls === null || from.cost_unknown_calls === null
      ? null
      : into.cost_unknown_calls + from.cost_unknown_calls;
  into.outcome_unknown.calls += from.outcome_unknown.calls;
  into.outcome_unknown.estimated_micros += from.outcome_unknown.estimated_micros;
  into.first_call = min(into.first_call, from.first_call);
  into.last_call = max(into.last_call, from.last_call);
  if (into.after_revoke && from.after_revoke) {
    into.after_revoke.later += from.after_revoke.later;
    into.after_revoke.later_allowed += from.after_revoke.later_allowed;
    into.after_revoke.in_flight = (into.after_revoke.in_flight ?? 0) + (from.after_revoke.in_flight ?? 0);
  }
}

/** One stretch's bad rows, numbered within it, added after those of the stretches before it. */
export function appendBadRows(into: BadRows, stretch: BadRows, linesBefore: number): void {
  into.count += stretch.count;
  for (const line of stretch.first_lines)
    if (into.first_lines.length < MAX_BAD_LINES) into.first_lines.push(linesBefore + line);
}
