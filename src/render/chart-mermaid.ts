import type { DamageSummary } from '../core/damage/types.js';
import { formatLocal } from '../core/damage/time.js';
import type { DamageView } from './damage-format.js';

/**
 * Calls per minute as a Mermaid xychart, which GitHub (and GitLab, Notion, Obsidian) draw from
 * a fenced ```mermaid block: a bar per minute, the anomaly's first minute and the revoke's
 * minute named on the axis (xychart has no markers of its own) and in the title.
 * test/postmortem/chart.test.ts parses every chart with mermaid's own parser.
 */
export const MAX_BARS = 90;

const hhmm = (ms: number, v: DamageView) => formatLocal(ms, v.tz, false).slice(11, 16);
const MINUTE = 60_000;

interface Bar {
  label: string;
  calls: number;
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
    });
  }
  return out;
}

const quote = (s: string) => `"${s.replace(/"/g, "'")}"`;

function title(s: DamageSummary, v: DamageView, per: number): string {
  const parts = [per > 1 ? `Calls per ${per} minutes` : 'Calls per minute'];
  if (s.anomaly_start) parts.push(`anomaly from ${hhmm(Date.parse(s.anomaly_start), v)}`);
  if (s.after_revoke)
    parts.push(`revoked ${formatLocal(Date.parse(s.after_revoke.revoked_at), v.tz, true).slice(11, 19)}`);
  return parts.join(', ');
}

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
    `  x-axis ${quote(`time (${formatLocal(Date.parse(s.per_minute[0]!.minute), v.tz, false).split(' ')[2]})`)} [${b.map((x) => quote(x.label)).join(', ')}]`,
    `  y-axis "calls" 0 --> ${Math.ceil(top * 1.1)}`,
    `  bar [${b.map((x) => x.calls).join(', ')}]`,
    '```',
  ].join('\n');
}
