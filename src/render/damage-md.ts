import type { DamageSummary } from '../core/damage/types.js';
import { sparkline } from './sparkline.js';
import { formatLocal } from '../core/damage/time.js';
import {
  leftOutLine,
  lowerBoundNote,
  minuteMarks,
  minuteTable,
  minuteTableScope,
  spendText,
} from './damage-minutes.js';
import {
  afterRevokeLine,
  anomalyLine,
  at,
  badRowsLine,
  costLine,
  outcomeUnknownLine,
  count,
  emptyLine,
  endpointText,
  orNone,
  scopeLine,
  usd,
  verdictLine,
  type DamageView,
} from './damage-format.js';

/** A table cell or inline text: Markdown's own characters escaped (the values are inert already). */
export const mdEscape = (s: string) => s.replace(/[|`<>[\]]/g, (c) => (c === '`' ? "'" : `\\${c}`));
const esc = mdEscape;

function table(headers: string[], rows: string[][]): string[] {
  return [
    `| ${headers.join(' | ')} |`,
    `|${headers.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ];
}

/** Calls and spend per minute as a table; past MINUTE_ROWS minutes, the costliest and what is left out. */
function minutes(s: DamageSummary, v: DamageView): string[] {
  const t = minuteTable(s);
  if (t.rows.length === 0) return [];
  const rows = t.rows.map((m) => {
    const marks = minuteMarks(s, m.minute);
    return [
      formatLocal(Date.parse(m.minute), v.tz, false) + (marks.length ? ` (${marks.join(', ')})` : ''),
      count(m.calls),
      ...(t.spend ? [spendText(m.cost_usd!, m.calls_cost_unknown)] : []),
    ];
  });
  const notes = [
    leftOutLine(t),
    t.spend
      ? lowerBoundNote(
          [...t.rows, ...(t.left ? [t.left] : [])].map((m) => m.calls_cost_unknown),
          'words',
        )
      : null,
  ].filter((x): x is string => x !== null);
  return [
    '',
    `**${t.spend ? 'Calls and spend' : 'Calls'} per minute** ${minuteTableScope(t)}`,
    '',
    ...table(['minute', 'calls', ...(t.spend ? ['spend'] : [])], rows),
    ...notes.flatMap((n) => ['', esc(n)]),
  ];
}

/** The damage summary as Markdown, for the incident channel and the postmortem. */
export function renderDamageMarkdown(s: DamageSummary, v: DamageView, heading = '##', top = 10): string {
  if (s.empty) return `${heading} Damage\n\n${emptyLine(s, v)}\n`;
  const out = [
    `${heading} Damage: ${esc(scopeLine(s, v))}`,
    '',
    `- **Calls:** ${esc(verdictLine(s))}`,
    `- **Cost:** ${costLine(s)}`,
    `- **First / last call:** ${at(s.first_call, v)} / ${at(s.last_call, v)}`,
    `- **Anomaly:** ${anomalyLine(s, v)}`,
  ];
  const unknown = outcomeUnknownLine(s);
  if (unknown) out.push(`- **Outcome unknown:** ${unknown}`);
  const rev = afterRevokeLine(s, v);
  if (rev) out.push(`- **After the revoke:** ${rev}`);
  const bad = badRowsLine(s);
  if (bad) out.push(`- **Bad rows:** ${bad}`);
  if (s.per_minute.length > 0)
    out.push(
      '',
      '```',
      `calls/min ${sparkline(
        s.per_minute.map((m) => m.calls),
        60,
      )}`,
      '```',
    );
  out.push(...minutes(s, v));
  out.push('', `**Customers (refund candidates, ${count(s.customers.length)})**`, '');
  out.push(
    ...table(
      ['customer', 'calls', 'cost'],
      s.customers.slice(0, top).map((c) => [orNone(c.customer_scope_id), count(c.calls), usd(c.cost_usd)]),
    ),
  );
  out.push('', '**Endpoints**', '');
  out.push(
    ...table(
      ['endpoint', 'calls', 'cost'],
      s.endpoints.slice(0, top).map((e) => [endpointText(e), count(e.calls), usd(e.cost_usd)]),
    ),
  );
  out.push(
    '',
    `**Agent runs:** ${s.agent_runs.map((r) => `\`${esc(orNone(r.agent_run_id))}\` (${count(r.calls)})`).join(', ') || 'none'}`,
  );
  return out.join('\n') + '\n';
}
