import type { DamageSummary, MinuteCount } from '../core/damage/types.js';
import type { Paint } from './color.js';
import { renderTable, type Column } from './table.js';
import {
  isLowerBound,
  leftOutLine,
  lowerBoundNote,
  minuteMarks,
  minuteTable,
  MINUTE_ROWS,
  minuteTableScope,
  spendText,
} from './damage-minutes.js';
import { sparkline } from './sparkline.js';
import { formatLocal } from '../core/damage/time.js';
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
import { inert } from '../core/inert.js';

export interface TextView extends DamageView {
  paint: Paint;
  /** A terminal also gets the sparkline above the per-minute rows. */
  tty: boolean;
  /** Rows per breakdown before "… N more". */
  top?: number;
}

const WIDTH = 80;

const LABEL = 13;

/**
 * A labelled line: the value starts at column 14, or after the label and a space when the label
 * is longer; a value too long for the line goes on under itself, broken between words, so the
 * view fits WIDTH columns. `paint` colours each piece (never across a line break).
 */
function field(label: string, value: string, paint: (s: string) => string = (x) => x): string {
  return wrap(label.length < LABEL ? label.padEnd(LABEL) : `${label} `, value, LABEL, paint);
}

/** A time as the view writes it (`2026-11-21 02:14:07 UTC`): never broken across lines. */
const TIME = /\b(\d{4}-\d\d-\d\d) (\d\d:\d\d(?::\d\d)?) (?=\S)/g;

/** `head` then `text`, broken between words to fit WIDTH, the lines after the first indented by `indent`. */
function wrap(head: string, text: string, indent: number, paint: (s: string) => string = (x) => x): string {
  const lines: string[] = [];
  let line = '';
  let room = WIDTH - [...head].length;
  const words = text
    .replace(TIME, '$1\u0000$2\u0000')
    .split(' ')
    .map((w) => w.replaceAll('\u0000', ' '));
  for (const word of words) {
    if (line && [...line].length + 1 + [...word].length > room) {
      lines.push(line);
      line = word;
      room = WIDTH - indent;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? head : ' '.repeat(indent)) + paint(l)).join('\n');
}

/** Long paths keep their ends: `sqlite:/var/lib/…/audit.db`. */
function fitMiddle(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  const keep = max - 1;
  return chars.slice(0, Math.ceil(keep / 2)).join('') + '…' + chars.slice(chars.length - Math.floor(keep / 2)).join('');
}

function more(n: number, shown: number): string[] {
  return n > shown ? [`… ${count(n - shown)} more (--json, or --refunds FILE for every customer)`] : [];
}

/** The sparkline column of a minute (several minutes share one when the series is bucketed). */
function column(s: DamageSummary, minuteMs: number, width: number): number | null {
  const first = Date.parse(s.per_minute[0]!.minute);
  const index = Math.floor((minuteMs - first) / 60_000);
  if (index < 0 || index >= s.per_minute.length) return null;
  return LABEL + Math.floor(index / Math.max(1, Math.ceil(s.per_minute.length / width)));
}

/**
 * Carets under the sparkline: where the anomaly starts and where the revoke landed (the same
 * two marks as the postmortem's chart): `^ anomaly 02:14`, or `02:14 anomaly ^` near the right edge.
 */
function markers(s: DamageSummary, v: TextView, width: number): string[] {
  const marks: Array<{ col: number; label: string }> = [];
  const hhmm = (ms: number) => formatLocal(ms, v.tz, false).slice(11);
  if (s.anomaly_start !== null) {
    const col = column(s, Date.parse(s.anomaly_start), width);
    if (col !== null) marks.push({ col, label: `anomaly ${hhmm(Date.parse(s.anomaly_start))}` });
  }
  if (s.after_revoke) {
    const at = Date.parse(s.after_revoke.revoked_at);
    const col = column(s, Math.floor(at / 60_000) * 60_000, width);
    if (col !== null) marks.push({ col, label: `revoke ${hhmm(at)}` });
  }
  return marks.map(({ col, label }) =>
    v.paint.yellow(
      col + 2 + label.length <= WIDTH
        ? ' '.repeat(col) + '^ ' + label
        : ' '.repeat(Math.max(0, col - label.length - 1)) + label + ' ^',
    ),
  );
}

/** At a terminal the sparkline shows the shape, so the table keeps to the few minutes that cost most. */
const MINUTE_ROWS_TTY = 5;

/**
 * Calls and spend per minute: the minutes with calls, or past MINUTE_ROWS (MINUTE_ROWS_TTY at a
 * terminal) the costliest, and what is left out.
 */
function minutes(s: DamageSummary, v: TextView): string[] {
  const t = minuteTable(s, v.tty ? MINUTE_ROWS_TTY : MINUTE_ROWS);
  if (t.rows.length === 0) return [];
  const spend: Column<MinuteCount> = {
    header: 'spend',
    value: (m) => {
      const text = spendText(m.cost_usd!, m.calls_cost_unknown);
      return isLowerBound(m.calls_cost_unknown) ? v.paint.yellow(text) : text;
    },
    align: 'right',
  };
  const table = renderTable(t.rows, [
    {
      header: 'minute',
      value: (m) =>
        formatLocal(Date.parse(m.minute), v.tz, false) +
        minuteMarks(s, m.minute)
          .map((x) => `  <- ${x}`)
          .join(''),
    },
    { header: 'calls', value: (m) => count(m.calls), align: 'right' },
    ...(t.spend ? [spend] : []),
  ]);
  const left = leftOutLine(t);
  const note = t.spend
    ? lowerBoundNote(
        [...t.rows, ...(t.left ? [t.left] : [])].map((m) => m.calls_cost_unknown),
        'words',
      )
    : null;
  return [
    '',
    `${t.spend ? 'Calls and spend' : 'Calls'} per minute ${minuteTableScope(t)}`,
    table.trimEnd(),
    ...(left ? [left] : []),
    ...(note ? [v.paint.dim(note)] : []),
  ];
}

function timeline(s: DamageSummary, v: TextView): string[] {
  if (s.per_minute.length === 0) return [];
  if (!v.tty) return minutes(s, v);
  const calls = s.per_minute.map((m) => m.calls);
  const width = WIDTH - LABEL - 12;
  const line = sparkline(calls, width);
  return [field('Per minute', `${line} max ${count(Math.max(...calls))}`), ...markers(s, v, width), ...minutes(s, v)];
}

/** The damage summary for people: fits 80 columns, times in the operator's zone. */
export function renderDamageText(s: DamageSummary, v: TextView): string {
  const p = v.paint;
  if (s.empty) {
    const bad = badRowsLine(s);
    return [emptyLine(s, v), ...(bad ? [field('Bad rows', bad)] : [])].join('\n') + '\n';
  }
  const top = v.top ?? 10;
  const lines = [
    wrap('Damage: ', scopeLine(s, v), 'Damage: '.length).split('\n').map(p.bold).join('\n'),
    field('Calls', verdictLine(s)),
    field('Cost', costLine(s), s.cost_unknown?.calls ? p.yellow : undefined),
    field('First call', at(s.first_call, v)),
    field('Last call', at(s.last_call, v)),
    field('Anomaly', anomalyLine(s, v), s.anomaly_start ? p.yellow : undefined),
  ];
  const unknown = outcomeUnknownLine(s);
  if (unknown) lines.push(field('Outcome unknown', unknown, p.yellow));
  const rev = afterRevokeLine(s, v);
  if (rev) lines.push(field('After revoke', rev, s.after_revoke!.later_allowed > 0 ? p.red : undefined));
  const bad = badRowsLine(s);
  if (bad) lines.push(field('Bad rows', bad, p.yellow));
  lines.push(...timeline(s, v));
  const cols = {
    calls: { header: 'calls', value: (r: { calls: number }) => count(r.calls), align: 'right' as const },
    cost: { header: 'cost', value: (r: { cost_usd: number }) => usd(r.cost_usd), align: 'right' as const },
  };
  lines.push('', `Customers, refund candidates (${count(s.customers.length)})`);
  lines.push(
    renderTable(s.customers.slice(0, top), [
      { header: 'customer', value: (c) => orNone(c.customer_scope_id), max: 44 },
      cols.calls,
      cols.cost,
    ]).trimEnd(),
    ...more(s.customers.length, top),
  );
  lines.push('', 'Endpoints');
  lines.push(
    renderTable(s.endpoints.slice(0, top), [
      { header: 'endpoint', value: endpointText, max: 52 },
      cols.calls,
      cols.cost,
    ]).trimEnd(),
    ...more(s.endpoints.length, top),
  );
  lines.push('', 'Agent runs');
  lines.push(
    renderTable(s.agent_runs.slice(0, top), [
      { header: 'agent run', value: (r) => orNone(r.agent_run_id), max: 44 },
      cols.calls,
      cols.cost,
    ]).trimEnd(),
    ...more(s.agent_runs.length, top),
  );
  lines.push(
    '',
    p.dim('Cost, customers, endpoints and runs count allowed calls.'),
    p.dim(field('Source', fitMiddle(inert(s.source), WIDTH - LABEL))),
  );
  return lines.join('\n') + '\n';
}
