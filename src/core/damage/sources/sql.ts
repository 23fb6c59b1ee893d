import type { Aggregate, Counted, DamageQuery } from '../types.js';
import { ALLOWED_VERDICTS, MAX_BAD_LINES, addCounted, addEndpoint, emptyAggregate } from '../accumulate.js';
import { endpointTemplate } from '../../../proxy/store/audit-shared.js';
import { quoteIdent, type ColumnMap } from '../columns.js';
import { MINUTE_MS, parseAuditTime } from '../time.js';
import { MAX_CALL_COST_USD, str } from '../rows.js';

/** How the start-time column is stored, which decides how to bucket and bound it in SQL. */
export type TimeStorage =
  | { kind: 'timestamp' } // PostgreSQL timestamp / timestamptz
  | { kind: 'epoch_ms' }
  | { kind: 'epoch_s' }
  | { kind: 'text'; sep: 'T' | ' '; zone: boolean };

export interface Dialect {
  name: 'sqlite' | 'postgres';
  param(index: number): string;
  /** SUM of the cost column as the server adds best: exact integers in SQLite, numeric in PostgreSQL. */
  costSum(col: string): string;
  /** That sum, read back, in micro-dollars. */
  micros(v: unknown): number;
}

export interface SqlStatement {
  name: 'verdicts' | 'customers' | 'endpoints' | 'minutes' | 'runs' | 'keys' | 'revoke' | 'bad' | 'outcome' | 'undated';
  sql: string;
  params: unknown[];
}

type Row = Record<string, unknown>;

/**
 * No start time written: NULL, or in SQLite (where any column holds any type) an empty text, as
 * `sqlite3 .import --csv` leaves an empty cell. Both are `(s IS NULL OR s = '')` there, which an
 * index on the column still serves; a PostgreSQL timestamp cannot hold ''.
 */
export const noStart = (d: Dialect, s: string): string =>
  d.name === 'sqlite' ? `(${s} IS NULL OR ${s} = '')` : `${s} IS NULL`;

/** A column's value, NULL when none is written: in SQLite an empty text is none (see noStart). */
const orNull = (d: Dialect, col: string): string => (d.name === 'sqlite' ? `NULLIF(${col}, '')` : col);

export function timeParam(ms: number, t: TimeStorage): unknown {
  if (t.kind === 'epoch_ms') return ms;
  if (t.kind === 'epoch_s') return ms / 1000;
  const iso = new Date(ms).toISOString();
  if (t.kind === 'timestamp') return iso;
  const text = t.sep === 'T' ? iso : iso.replace('T', ' ');
  // Zone-less text is compared as text: the bound in its shortest form (`02:10:00`, `02:10:00.5`), so a
  // row written at the same instant (`02:10:00`, `02:10:00.000`) is equal to it or extends it, and
  // sorts at or after it, as `>=` and `<` want.
  return t.zone ? text : text.slice(0, -1).replace(/\.?0+$/, '');
}

export function minuteExpr(col: string, t: TimeStorage, d: Dialect): string {
  if (t.kind === 'timestamp') return `date_trunc('minute', ${col})`;
  // CAST: a REAL column divided is still REAL, and would group every row apart.
  if (t.kind === 'epoch_ms') return `CAST(${col} / 60000 AS INTEGER)`;
  if (t.kind === 'epoch_s') return `CAST(${col} / 60 AS INTEGER)`;
  return d.name === 'sqlite' ? `substr(${col}, 1, 16)` : `left(${col}, 16)`;
}

/**
 * The aggregation, pushed down: one GROUP BY per breakdown, each over the same WHERE.
 * Identifiers come from a checked column map; every value is a bound parameter.
 */
export function buildStatements(
  d: Dialect,
  table: string,
  c: ColumnMap,
  t: TimeStorage,
  q: DamageQuery,
  strict = false,
  /** The table has the write-ahead columns (outcome, amount_usd_estimated): see outcomeProbe. */
  hasOutcome = false,
): SqlStatement[] {
  const col = (name: keyof ColumnMap) => quoteIdent(c[name]);
  const s = col('started_at');
  const { filters, params, windowed } = scope(d, c, t, q);
  // Costs are only checked row by row (strict) once the verdicts' MIN and MAX have shown one out of range.
  const sane = strict ? [saneCost(d, col('cost_usd_parsed'))] : [];
  const whereOf = (parts: string[]) =>
    `FROM ${quoteIdent(table)}${parts.length ? ` WHERE ${parts.join(' AND ')}` : ''}`;
  const dated = `NOT ${noStart(d, s)}`;
  const from = whereOf([dated, ...sane, ...filters]);
  const allowedParams = [...params];
  const allowedFrom = `${from} AND ${col('policy_verdict')} IN (${[...ALLOWED_VERDICTS].map((v) => (allowedParams.push(v), d.param(allowedParams.length))).join(', ')})`;
  const cost = `, ${d.costSum(col('cost_usd_parsed'))} AS cost`;
  const known = orNull(d, col('cost_usd_parsed'));
  // Totals and the timeline count every call; the breakdowns count allowed calls (money that moved).
  const group = (
    name: SqlStatement['name'],
    keys: string[],
    extra: string,
    rows: 'allowed' | 'all' = 'allowed',
    fromClause = rows === 'allowed' ? allowedFrom : from,
  ) => ({
    name,
    sql: `SELECT ${keys.map((k, i) => `${k} AS k${i}`).join(', ')}, COUNT(*) AS calls${extra} ${fromClause} GROUP BY ${keys.join(', ')}`,
    params: rows === 'allowed' ? allowedParams : params,
  });
  const out: SqlStatement[] = [
    group(
      'verdicts',
      [col('policy_verdict')],
      // no_cost: rows with no cost written (unknown cost, for the allowed verdicts).
      `${cost}, MIN(${s}) AS first, MAX(${s}) AS last, MIN(${known}) AS min_cost, MAX(${known}) AS max_cost, COUNT(*) - COUNT(${known}) AS no_cost`,
      'all',
    ),
    group('customers', [col('customer_scope_id')], cost),
    group('endpoints', [col('method'), col('path')], cost),
    // Bad rows land in the NULL minute, counted for free: an insane cost always, no start time when there is no window
    // (with one, the window's filter leaves such rows out, and undatedStatement counts them).
    minutesStatement(
      d,
      c,
      strict ? `CASE WHEN ${sane[0]} THEN ${minuteExpr(orNull(d, s), t, d)} END` : minuteExpr(orNull(d, s), t, d),
      windowed ? whereOf([dated, ...filters]) : whereOf(filters),
      params,
    ),
    group('runs', [col('agent_run_id')], cost),
    group('keys', [col('vault_key_id')], cost),
  ];
  if (q.revoked_at !== undefined) out.push(revokeStatement(d, c, t, q.revoked_at, from, params));
  if (hasOutcome) out.push(outcomeStatement(d, c, from, params));
  const undated = undatedStatement(d, table, c, t, q);
  if (undated) out.push(undated);
  return out;
}

/**
 * The timeline: every call per minute, and the allowed calls' cost and how many of them have none
 * written. The filter goes first, in a CTE, so its placeholders precede the verdicts' in the text.
 */
function minutesStatement(d: Dialect, c: ColumnMap, minute: string, from: string, base: unknown[]): SqlStatement {
  const params = [...base];
  const [s, v, cost] = [c.started_at, c.policy_verdict, c.cost_usd_parsed].map(quoteIdent);
  const allowed = () =>
    `${v} IN (${[...ALLOWED_VERDICTS].map((x) => (params.push(x), d.param(params.length))).join(', ')})`;
  const costs = `${d.costSum(`CASE WHEN ${allowed()} THEN ${cost} END`)} AS cost, SUM(CASE WHEN ${allowed()} AND ${orNull(d, quoteIdent(c.cost_usd_parsed))} IS NULL THEN 1 ELSE 0 END) AS no_cost`;
  const sql = `WITH w AS (SELECT ${s}, ${v}, ${cost} ${from}) SELECT ${minute} AS k0, COUNT(*) AS calls, ${costs} FROM w GROUP BY ${minute}`;
  return { name: 'minutes', sql, params };
}

/** A query that fails when the table lacks the write-ahead columns (C6): run it to know whether to ask. */
export const outcomeProbe = (table: string, c: ColumnMap): string =>
  `SELECT ${quoteIdent(c.outcome)}, ${quoteIdent(c.amount_usd_estimated)} FROM ${quoteIdent(table)} LIMIT 0`;

/** Forwarded calls whose outcome was never recorded (outcome pending or unknown), and their estimated amount. */
function outcomeStatement(d: Dialect, c: ColumnMap, from: string, base: unknown[]): SqlStatement {
  const params = [...base, 'pending', 'unknown'];
  const o = quoteIdent(c.outcome);
  return {
    name: 'outcome',
    sql: `SELECT COUNT(*) AS calls, ${d.costSum(quoteIdent(c.amount_usd_estimated))} AS est ${from} AND ${o} IN (${d.param(params.length - 1)}, ${d.param(params.length)})`,
    params,
  };
}

/** The window and the filters of a query as WHERE parts, with their bound values. */
export function scope(
  d: Dialect,
  c: ColumnMap,
  t: TimeStorage,
  q: DamageQuery,
  /** Bind after these (a second filter set in one statement). */
  params: unknown[] = [],
): { filters: string[]; params: unknown[]; windowed: boolean } {
  const col = (name: keyof ColumnMap) => quoteIdent(c[name]);
  const s = col('started_at');
  const filters: string[] = [];
  const bind = (v: unknown) => (params.push(v), d.param(params.length));
  if (q.from !== undefined) filters.push(`${s} >= ${bind(timeParam(q.from, t))}`);
  if (q.to !== undefined) filters.push(`${s} < ${bind(timeParam(q.to, t))}`);
  if (q.vault_key_id !== undefined) filters.push(`${col('vault_key_id')} = ${bind(q.vault_key_id)}`);
  if (q.agent_run_id !== undefined) filters.push(`${col('agent_run_id')} = ${bind(q.agent_run_id)}`);
  if (q.customer_scope_id !== undefined) filters.push(`${col('customer_scope_id')} = ${bind(q.customer_scope_id)}`);
  return { filters, params, windowed: q.from !== undefined || q.to !== undefined };
}

/**
 * A cost a call can have, as the file sources read it (rows.ts): none (NULL, or '' in SQLite), or 0 to
 * MAX_CALL_COST_USD. Negative, infinite and NaN (PostgreSQL sorts NaN above every number) are not; such a row is bad.
 * SQLite may hold a cost as text (a TEXT column, an imported CSV): it is compared as the number it
 * reads as, and text that reads as no number (`c = CAST(c AS REAL)` is false for it) is bad, as in a file.
 */
export function saneCost(d: Dialect, cost: string): string {
  if (d.name === 'postgres') return `(${cost} IS NULL OR (${cost} >= 0 AND ${cost} <= ${MAX_CALL_COST_USD}))`;
  const n = `CAST(${cost} AS REAL)`;
  return `(${orNull(d, cost)} IS NULL OR (${cost} = ${n} AND ${n} >= 0 AND ${n} <= ${MAX_CALL_COST_USD}))`;
}

/**
 * True when the verdicts' MIN and MAX cost show a cost no call can have: the statements must then
 * run again strict, checking each row (rare: only a broken audit table pays for it). SQLite sorts
 * text above every number, so a text MAX means costs held as text: only a row-by-row check reads them.
 */
export function needsStrict(d: Dialect, results: Map<SqlStatement['name'], Row[]>): boolean {
  return (results.get('verdicts') ?? []).some((r) => {
    if (d.name === 'sqlite' && typeof r.max_cost === 'string') return true;
    const lo = r.min_cost === null || r.min_cost === undefined ? 0 : Number(r.min_cost);
    const hi = r.max_cost === null || r.max_cost === undefined ? 0 : Number(r.max_cost);
    return !(lo >= 0 && hi <= MAX_CALL_COST_USD);
  });
}

/** The first few bad rows (no start time, or an insane cost), by id: asked only when the count says there are some. */
export function badRowsStatement(
  d: Dialect,
  table: string,
  c: ColumnMap,
  t: TimeStorage,
  q: DamageQuery,
): SqlStatement {
  const id = quoteIdent(c.id);
  const s = quoteIdent(c.started_at);
  const { filters, params, windowed } = scope(d, c, t, q);
  const insane = `NOT ${saneCost(d, quoteIdent(c.cost_usd_parsed))}`;
  // With a window, a row with no start time may belong to it: bad, as a file source counts it (undatedStatement).
  const where = windowed
    ? `(${[insane, ...filters].join(' AND ')}) OR (${[noStart(d, s), ...scope(d, c, t, undated(q), params).filters].join(' AND ')})`
    : `(${noStart(d, s)} OR ${insane})${filters.map((f) => ` AND ${f}`).join('')}`;
  return {
    name: 'bad',
    sql: `SELECT ${id} AS id FROM ${quoteIdent(table)} WHERE ${where} ORDER BY ${id} LIMIT ${MAX_BAD_LINES}`,
    params,
  };
}

/** The query without its window: what a row with no start time is matched against. */
const undated = (q: DamageQuery): DamageQuery => ({ ...q, from: undefined, to: undefined });

/**
 * With a window (--from/--to), the rows with no start time that match the other filters: they may
 * belong to the window and cannot be placed in it, so they are bad rows, as a file source counts
 * them. Without a window the timeline already counts them. An index on the start time finds them
 * (NULLs are in it), so a large table is not scanned for them.
 */
export function undatedStatement(
  d: Dialect,
  table: string,
  c: ColumnMap,
  t: TimeStorage,
  q: DamageQuery,
): SqlStatement | null {
  if (q.from === undefined && q.to === undefined) return null;
  const { filters, params } = scope(d, c, t, undated(q));
  const where = [noStart(d, quoteIdent(c.started_at)), ...filters].join(' AND ');
  return { name: 'undated', sql: `SELECT COUNT(*) AS calls FROM ${quoteIdent(table)} WHERE ${where}`, params };
}

function revokeStatement(
  d: Dialect,
  c: ColumnMap,
  t: TimeStorage,
  at: number,
  from: string,
  base: unknown[],
): SqlStatement {
  const params = [...base];
  const bind = (v: unknown) => (params.push(v), d.param(params.length));
  const s = quoteIdent(c.started_at);
  const f = quoteIdent(c.finished_at);
  const rev = () => bind(timeParam(at, t));
  // Bind in textual order: SQLite's `?` placeholders are positional.
  const later = `SUM(CASE WHEN ${s} >= ${rev()} THEN 1 ELSE 0 END) AS later`;
  const laterAt = rev();
  const allowed = [...ALLOWED_VERDICTS].map((v) => bind(v)).join(', ');
  const laterAllowed = `SUM(CASE WHEN ${s} >= ${laterAt} AND ${quoteIdent(c.policy_verdict)} IN (${allowed}) THEN 1 ELSE 0 END) AS later_allowed`;
  // Finished after the revoke: at or after the next millisecond (times are read to the ms), which holds
  // for zone-less text too, where a finish written `…:30.000` would sort after a bound of `…:30`.
  const startedBefore = `${s} < ${rev()}`;
  const finishedAfter = t.kind === 'text' ? `${f} >= ${bind(timeParam(at + 1, t))}` : `${f} > ${rev()}`;
  const inFlight = `SUM(CASE WHEN ${startedBefore} AND ${finishedAfter} THEN 1 ELSE 0 END) AS in_flight`;
  // The filter goes first, in a CTE, so its placeholders precede the ones above in the text.
  const sql = `WITH w AS (SELECT ${s}, ${f}, ${quoteIdent(c.policy_verdict)} ${from}) SELECT ${later}, ${laterAllowed}, ${inFlight} FROM w`;
  return { name: 'revoke', sql, params };
}

const num = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
const key = str;

function minuteIndex(v: unknown, t: TimeStorage): number {
  if (t.kind === 'text')
    return Math.floor(parseAuditTime(`${String(v).replace(' ', 'T')}:00${t.zone ? 'Z' : ''}`) / MINUTE_MS);
  if (t.kind === 'timestamp') return Math.floor((v instanceof Date ? v.getTime() : parseAuditTime(v)) / MINUTE_MS);
  if (t.kind === 'epoch_s' || t.kind === 'epoch_ms') return Math.floor(num(v));
  return NaN;
}

/** True when the timeline found rows with no start time, so their ids are worth asking for. */
export function hasBadRows(results: Map<SqlStatement['name'], Row[]>): boolean {
  return (
    (results.get('minutes') ?? []).some((r) => r.k0 === null || r.k0 === undefined) ||
    (results.get('undated') ?? []).some((r) => num(r.calls) > 0)
  );
}

/** Put the statements' result rows back together as the Aggregate every source returns. */
export function assemble(
  d: Dialect,
  results: Map<SqlStatement['name'], Row[]>,
  t: TimeStorage,
  q: DamageQuery,
): Aggregate {
  const a = emptyAggregate(q.revoked_at !== undefined);
  const counted = (r: Row): Counted => ({ calls: num(r.calls), cost_micros: d.micros(r.cost) });
  // NULL and '' group apart in SQL but are one key here (no value; a verdict reads `unknown`, as a
  // row written with that word does): add every result row to its key, never overwrite.
  const verdict = (r: Row) => key(r.k0) ?? 'unknown';
  for (const r of results.get('verdicts') ?? []) {
    // The cost, as the unknown-cost count, is the allowed calls' (a refused call moved no money).
    if (ALLOWED_VERDICTS.has(String(r.k0))) {
      a.cost_unknown_calls! += num(r.no_cost);
      a.cost_micros += d.micros(r.cost);
    }
    a.calls_total += num(r.calls);
    a.by_verdict.set(verdict(r), (a.by_verdict.get(verdict(r)) ?? 0) + num(r.calls));
    // A start time the table holds but no one can read is never a time (its minute counts it as bad).
    const first = parseAuditTime(r.first);
    const last = parseAuditTime(r.last);
    if (!Number.isNaN(first) && (a.first_call === null || first < a.first_call)) a.first_call = first;
    if (!Number.isNaN(last) && (a.last_call === null || last > a.last_call)) a.last_call = last;
  }
  for (const r of results.get('customers') ?? []) addCounted(a.customers, key(r.k0), counted(r));
  for (const r of results.get('endpoints') ?? []) {
    const path = key(r.k1);
    addEndpoint(a, key(r.k0), path === null ? null : endpointTemplate(path), counted(r));
  }
  for (const r of results.get('minutes') ?? []) {
    const m = r.k0 === null || r.k0 === undefined ? NaN : minuteIndex(r.k0, t);
    if (Number.isNaN(m)) a.bad_rows.count += num(r.calls);
    else {
      // Two texts may be one minute (`T` and ` ` as separator): add, as for the keys.
      a.per_minute.set(m, (a.per_minute.get(m) ?? 0) + num(r.calls));
      a.per_minute_cost!.set(m, (a.per_minute_cost!.get(m) ?? 0) + d.micros(r.cost));
      a.per_minute_cost_unknown!.set(m, (a.per_minute_cost_unknown!.get(m) ?? 0) + num(r.no_cost));
    }
  }
  for (const r of results.get('runs') ?? []) addCounted(a.agent_runs, key(r.k0), counted(r));
  for (const r of results.get('keys') ?? []) addCounted(a.vault_keys, key(r.k0), counted(r));
  const rev = results.get('revoke')?.[0];
  if (rev && a.after_revoke)
    a.after_revoke = { later: num(rev.later), later_allowed: num(rev.later_allowed), in_flight: num(rev.in_flight) };
  for (const r of results.get('undated') ?? []) a.bad_rows.count += num(r.calls);
  a.bad_rows.first_lines = (results.get('bad') ?? []).map((r) => num(r.id));
  const o = results.get('outcome')?.[0];
  if (o) a.outcome_unknown = { calls: num(o.calls), estimated_micros: d.micros(o.est) };
  return a;
}
