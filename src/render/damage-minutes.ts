import type { DamageSummary, MinuteCount } from '../core/damage/types.js';
import { count, usd } from './damage-format.js';

/**
 * Calls and spend per minute, for the text and Markdown damage views and the postmortem's charts:
 * which minutes to show, and when a minute's spend is only a lower bound. One place decides both,
 * so the table and the chart never disagree about a minute.
 */

/** Past this many minutes with calls, the tables show the costliest (or busiest) and say what is left out. */
export const MINUTE_ROWS = 30;

/** The mark where there is no room for words (a chart's axis label): "at least this much". */
export const LOWER_BOUND_MARK = '?';

/**
 * A spend figure sums only the allowed calls with a cost written: with calls of unknown cost among
 * them it is a lower bound. null: the source cannot tell which calls have no cost.
 */
export const isLowerBound = (unknownCalls: number | null): boolean | null =>
  unknownCalls === null ? null : unknownCalls > 0;

/** A spend that is never a bare "$0" for unknown: `$1.20`, or `at least $1.20`. */
export const spendText = (costUsd: number, unknownCalls: number | null) =>
  isLowerBound(unknownCalls) ? `at least ${usd(costUsd)}` : usd(costUsd);

/** The summary's allowed spend in one phrase: `at least $9.10 (3 calls of unknown cost)`, or `$9.10`. */
export const spendPhrase = (d: DamageSummary) =>
  d.cost_unknown?.calls
    ? `${spendText(d.cost_usd, d.cost_unknown.calls)} (${count(d.cost_unknown.calls)} calls of unknown cost)`
    : usd(d.cost_usd);

/**
 * What the reader must know about a set of per-minute spend figures, or null when each is exact:
 * the source cannot tell unknown cost from $0, or some figures are lower bounds (`mark`: how they are marked).
 */
export function lowerBoundNote(unknowns: ReadonlyArray<number | null>, mark: 'mark' | 'words'): string | null {
  if (unknowns.some((u) => isLowerBound(u) === null)) return 'calls with no cost written count as $0';
  if (!unknowns.some((u) => isLowerBound(u))) return null;
  return mark === 'mark'
    ? `${LOWER_BOUND_MARK} marks calls of unknown cost: at least that much`
    : '"at least": that minute has calls of unknown cost (not $0)';
}

/** A sum over minutes of a figure that may be missing: missing anywhere is missing. */
export const sumOf = (xs: ReadonlyArray<number | null>, f: (x: number) => number = (x) => x) =>
  xs.reduce<number | null>((n, x) => (n === null || x === null ? null : n + f(x)), 0);

const micros = (usdAmount: number) => Math.round(usdAmount * 1_000_000);

export interface MinuteTable {
  /** The minutes to show, in time order. */
  rows: MinuteCount[];
  /** Minutes with calls in the summary. */
  busy: number;
  /** How the shown minutes were picked when not all fit: by spend, or by calls when there is no spend per minute. */
  ranked: 'costliest' | 'busiest' | null;
  /** Whether the source gives spend per minute (every minute has a `cost_usd`). */
  spend: boolean;
  /** The minutes with calls left out, summed; null when none are. `cost_usd` null: no spend per minute. */
  left: { minutes: number; calls: number; cost_usd: number | null; calls_cost_unknown: number | null } | null;
}

const revokeMinute = (s: DamageSummary) =>
  s.after_revoke ? new Date(Math.floor(Date.parse(s.after_revoke.revoked_at) / 60_000) * 60_000).toISOString() : null;

/** Notes for a minute: where the anomaly starts and where the revoke landed. */
export const minuteMarks = (s: DamageSummary, minute: string): string[] =>
  [minute === s.anomaly_start ? 'anomaly start' : null, minute === revokeMinute(s) ? 'revoke' : null].filter(
    (x): x is string => x !== null,
  );

/**
 * The minutes with calls; past `limit`, the costliest (the busiest without spend per minute), always
 * keeping the anomaly's first minute and the revoke's, and what was left out summed.
 */
export function minuteTable(s: DamageSummary, limit = MINUTE_ROWS): MinuteTable {
  const busy = s.per_minute.filter((m) => m.calls > 0);
  const spend = s.per_minute.length > 0 && s.per_minute.every((m) => m.cost_usd !== null);
  if (busy.length <= limit) return { rows: busy, busy: busy.length, ranked: null, spend, left: null };
  const byCost = (a: MinuteCount, b: MinuteCount) =>
    (spend ? micros(b.cost_usd!) - micros(a.cost_usd!) : 0) || b.calls - a.calls || a.minute.localeCompare(b.minute);
  const marked = busy.filter((m) => minuteMarks(s, m.minute).length > 0);
  const rest = busy.filter((m) => !marked.includes(m)).sort(byCost);
  const keep = new Set([...marked.slice(0, limit), ...rest.slice(0, Math.max(0, limit - marked.length))]);
  const out = busy.filter((m) => !keep.has(m));
  const cost = spend
    ? sumOf(
        out.map((m) => m.cost_usd),
        micros,
      )
    : null;
  return {
    rows: busy.filter((m) => keep.has(m)),
    busy: busy.length,
    ranked: spend ? 'costliest' : 'busiest',
    spend,
    left: {
      minutes: out.length,
      calls: out.reduce((n, m) => n + m.calls, 0),
      cost_usd: cost === null ? null : cost / 1_000_000,
      calls_cost_unknown: sumOf(out.map((m) => m.calls_cost_unknown)),
    },
  };
}

/** The heading's tail: `(minutes with calls)`, or `: the 30 costliest of 37 minutes with calls`. */
export function minuteTableScope(t: MinuteTable): string {
  return t.ranked === null
    ? '(minutes with calls)'
    : `(the ${count(t.rows.length)} ${t.ranked} of ${count(t.busy)} minutes with calls)`;
}

/** `… 7 more minutes not shown: 20 calls, at least $12.00 (--json has all)`, or null; under 80 columns. */
export function leftOutLine(t: MinuteTable): string | null {
  const l = t.left;
  if (l === null) return null;
  const cost = l.cost_usd === null ? '' : `, ${spendText(l.cost_usd, l.calls_cost_unknown)}`;
  return `… ${count(l.minutes)} more minutes not shown: ${count(l.calls)} calls${cost} (--json has all)`;
}
