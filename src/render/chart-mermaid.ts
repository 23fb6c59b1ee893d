import type { DamageSummary } from '../core/damage/types.js';
import { formatLocal } from '../core/damage/time.js';
import type { DamageView } from './damage-format.js';
import { isLowerBound, LOWER_BOUND_MARK, lowerBoundNote, sumOf } from './damage-minutes.js';

/**
 * Calls per minute as a Mermaid xychart, which GitHub (and GitLab, Notion, Obsidian) draw from
 * a fenced ```mermaid block: a bar per minute, the anomaly's first minute and the revoke's
 * minute named on the axis (xychart has no markers of its own) and in the title. Spend per
 * minute is a second, smaller chart on the same axis: calls and dollars differ by orders of
 * magnitude, and one y-axis for both would flatten one of them.
 * test/postmortem/chart.test.ts parses every chart with mermaid's own parser.
 */
export const MAX_BARS = 90;

const hhmm = (ms: number, v: DamageView) => formatLocal(ms, v.tz, false).slice(11, 16);
const MINUTE = 60_000;

interface Bar {
  label: string;
  calls: number;
  /** Micro-dollars, summed as integers; null when the source gives no cost per minute. */
  micros: number | null;
  /** Allowed calls of unknown cost in these minutes; null when the source cannot tell. */
  unknown: number | null;
}

/** Minutes in order; when there are more than MAX_BARS, adjacent minutes are summed (the label is the first). */
function bars(s: DamageSummary, v: DamageView): Bar[] {
  const per = Math.max(1, Math.ceil(s.per_minute.length / MAX_BARS));
  const anomaly = s.anomaly_start === null ? null : Date.parse(s.anomaly_start);
  const revoke = s.after_revoke ? Math.floor(Date.parse(s.after_revoke.revoked_at) / MINUTE) * MINUTE : null;
  const out: Bar[] = [];
  for (let i = 0; i < s.per_minute.length; i += per) {
    const group = s.per_minute.slice(i, i + per);
    const from = Date.parse(group[0]!.minute);
    const to = Date.parse(group[group.length - 1]!.minute);
    const marks = [
      anomaly !== null && anomaly >= from && anomaly <= to ? 'anomaly' : null,
      revoke !== null && revoke >= from && revoke <= to ? 'revoke' : null,
    ].filter(Boolean);
    out.push({
      label: `${hhmm(from, v)}${marks.length ? ` ${marks.join('+')}` : ''}`,
      calls: group.reduce((n, m) => n + m.calls, 0),
      micros: sumOf(
        group.map((m) => m.cost_usd),
        (usd) => Math.round(usd * 1_000_000),
      ),
      unknown: sumOf(group.map((m) => m.calls_cost_unknown)),
    });
  }
  return out;
}

const quote = (s: string) => `"${s.replace(/"/g, "'")}"`;

function title(s: DamageSummary, v: DamageView, per: number, what = 'Calls'): string {
  const parts = [per > 1 ? `${what} per ${per} minutes` : `${what} per minute`];
  if (s.anomaly_start) parts.push(`anomaly from ${hhmm(Date.parse(s.anomaly_start), v)}`);
  if (s.after_revoke)
    parts.push(`revoked ${formatLocal(Date.parse(s.after_revoke.revoked_at), v.tz, true).slice(11, 19)}`);
  return parts.join(', ');
}

const axis = (s: DamageSummary, v: DamageView, b: Bar[]) =>
  `  x-axis ${quote(`time (${formatLocal(Date.parse(s.per_minute[0]!.minute), v.tz, false).split(' ')[2]})`)} [${b.map((x) => quote(x.label)).join(', ')}]`;

/** The fenced block, or null when there is nothing to draw. */
export function callsChartMermaid(s: DamageSummary, v: DamageView): string | null {
  if (s.empty || s.per_minute.length === 0) return null;
  const b = bars(s, v);
  const per = Math.max(1, Math.ceil(s.per_minute.length / MAX_BARS));
  const top = Math.max(1, ...b.map((x) => x.calls));
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${quote(title(s, v, per))}`,
    axis(s, v, b),
    `  y-axis "calls" 0 --> ${Math.ceil(top * 1.1)}`,
    `  bar [${b.map((x) => x.calls).join(', ')}]`,
    '```',
  ].join('\n');
}

/** A round figure a little above `x`, for the top of the axis. */
function above(x: number): number {
  if (x <= 0) return 1;
  const step = 10 ** (Math.floor(Math.log10(x * 1.1)) - 1);
  return Number((Math.ceil((x * 1.1) / step) * step).toPrecision(3));
}

/**
 * Spend per minute (the allowed calls' cost) as a line, or null when the source gives no cost per
 * minute. A minute with calls of unknown cost is marked `?` on the axis: its figure is a lower bound.
 */
export function spendChartMermaid(s: DamageSummary, v: DamageView): string | null {
  if (s.empty || s.per_minute.length === 0) return null;
  const b = bars(s, v);
  if (b.some((x) => x.micros === null)) return null;
  const per = Math.max(1, Math.ceil(s.per_minute.length / MAX_BARS));
  const unsure = lowerBoundNote(
    b.map((x) => x.unknown),
    'mark',
  );
  const labelled = b.map((x) => ({
    ...x,
    label: isLowerBound(x.unknown) ? `${x.label} ${LOWER_BOUND_MARK}` : x.label,
  }));
  const usd = b.map((x) => x.micros! / 1_000_000);
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${quote([title(s, v, per, 'Spend (USD)'), unsure].filter(Boolean).join('; '))}`,
    axis(s, v, labelled),
    `  y-axis "USD" 0 --> ${above(Math.max(...usd))}`,
    `  line [${usd.join(', ')}]`,
    '```',
  ].join('\n');
}
