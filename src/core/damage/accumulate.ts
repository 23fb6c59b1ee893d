import type { Aggregate, AuditRow, BadRows, Counted, DamageQuery } from './types.js';
import { MINUTE_MS } from './time.js';
import { Interner, Tally, Text, type RowText } from './intern.js';
import { EndpointTally } from './endpoints.js';

/** Verdicts that mean the proxy let the call through to the vendor. */
export const ALLOWED_VERDICTS: ReadonlySet<string> = new Set(['allowed', 'allow', 'ok', 'pass']);

export const MAX_BAD_LINES = 5;

export function emptyAggregate(withRevoke: boolean): Aggregate {
  return {
    calls_total: 0,
    cost_micros: 0,
    by_verdict: new Map(),
    customers: new Map(),
    endpoints: new Map(),
    per_minute: new Map(),
    per_minute_cost: new Map(),
    per_minute_cost_unknown: new Map(),
    agent_runs: new Map(),
    vault_keys: new Map(),
    first_call: null,
    last_call: null,
    after_revoke: withRevoke ? { in_flight: 0, later: 0, later_allowed: 0 } : null,
    bad_rows: { count: 0, first_lines: [] },
    cost_unknown_calls: 0,
    outcome_unknown: { calls: 0, estimated_micros: 0 },
  };
}

export const toMicros = (usd: number) => Math.round(usd * 1_000_000);

/** Add calls and cost to a breakdown's entry, which other rows (or stretches) may have begun. */
export function addCounted<K>(map: Map<K, Counted>, key: K, c: Counted): void {
  const t = map.get(key);
  if (t) {
    t.calls += c.calls;
    t.cost_micros += c.cost_micros;
  } else map.set(key, { calls: c.calls, cost_micros: c.cost_micros });
}

/** Endpoints are grouped by path template (`/v1/charges/{id}`), as the proxy groups them. */
export function addEndpoint(a: Aggregate, method: string | null, path: string | null, c: Counted): void {
  const key = `${method ?? ''} ${path ?? ''}`;
  const ep = a.endpoints.get(key);
  if (ep) {
    ep.calls += c.calls;
    ep.cost_micros += c.cost_micros;
  } else a.endpoints.set(key, { method, path, calls: c.calls, cost_micros: c.cost_micros });
}

/**
 * One row as the Accumulator counts it. Numbers are fields, not arguments: a time passed to a
 * function that is not inlined is boxed, an allocation on every row.
 */
export interface CountedRow extends RowText {
  /** Epoch ms. */
  started: number;
  /** Epoch ms; NaN when unknown. */
  finished: number;
  micros: number;
  /** A cost was written (see AuditRow). */
  costKnown: boolean;
  /** `outcome` is pending or unknown (C6). */
  outcomeUnknown: boolean;
  /** `amount_usd_estimated` in micro-dollars (0 when none). */
  estimateMicros: number;
}

/** An AuditRow, as a CountedRow. */
class TextOfRow implements CountedRow {
  row!: AuditRow;
  started = 0;
  finished = NaN;
  micros = 0;
  costKnown = true;
  outcomeUnknown = false;
  estimateMicros = 0;

  id(field: number, values: Interner): number {
    const r = this.row;
    const text = [r.policy_verdict, r.customer_scope_id, r.agent_run_id, r.vault_key_id, r.method, r.path][field]!;
    return values.ofText(text);
  }
}

/** A dimension with an equality filter from the query: whether each id matches, worked out once per id. */
class Filter {
  private known = new Int8Array(64); // 0 unknown, 1 yes, 2 no

  constructor(
    readonly field: number,
    readonly values: Interner,
    private readonly wanted: string,
  ) {}

  matches(id: number): boolean {
    if (id >= this.known.length) {
      const k = new Int8Array(Math.max(id + 1, this.known.length * 2));
      k.set(this.known);
      this.known = k;
    }
    if (this.known[id] === 0) this.known[id] = this.values.text(id) === this.wanted ? 1 : 2;
    return this.known[id] === 1;
  }
}

/** Sum a tally into a Map by each id's text: ids given for bytes and for text may share one. */
function toMap(values: Interner, tally: Tally): Map<string | null, Counted> {
  const out = new Map<string | null, Counted>();
  for (let id = 0; id < values.size; id++) {
    const calls = tally.calls[id] ?? 0;
    if (calls === 0) continue;
    const k = values.text(id);
    const c = out.get(k);
    if (c) {
      c.calls += calls;
      c.cost_micros += tally.micros[id]!;
    } else out.set(k, { calls, cost_micros: tally.micros[id]! });
  }
  return out;
}

/**
 * Aggregation in JavaScript for the sources that stream rows (JSONL, CSV, LiteLLM): one pass,
 * memory bounded by the number of distinct customers, endpoints and minutes, not by rows.
 * Rows come as AuditRow (text) or, from the file scanners, as ids of values read from bytes.
 */
export class Accumulator {
  /** Rows that could be read, inside the window or not. */
  rowsRead = 0;
  /**
   * Rows that started before this need their finished time: only the after-revoke split reads
   * it, for calls in flight at the revoke (-Infinity: none do).
   */
  readonly finishedBefore: number;
  readonly verdicts = new Interner();
  readonly customers = new Interner();
  readonly runs = new Interner();
  readonly keys = new Interner();
  readonly endpoints = new EndpointTally();
  private readonly a: Aggregate;
  private readonly byVerdict = new Tally();
  private allowed = new Uint8Array(64); // per verdict id: 0 unknown, 1 allowed, 2 not
  private readonly byCustomer = new Tally();
  private readonly byRun = new Tally();
  private readonly byKey = new Tally();
  private readonly filters: Filter[];
  private readonly textOfRow = new TextOfRow();
  // Rows mostly come in time order: count a run of calls in the same minute before touching the map.
  private minute = NaN;
  private minuteCalls = 0;
  private minuteMicros = 0;
  private minuteUnknown = 0;
  // Plain number fields, not the aggregate's (which start as null): storing a time there would box it on every row.
  private first = Infinity;
  private last = -Infinity;
  private micros = 0;

  constructor(private readonly query: DamageQuery) {
    this.a = emptyAggregate(query.revoked_at !== undefined);
    this.finishedBefore = query.revoked_at ?? -Infinity;
    const filters: [string | undefined, number, Interner][] = [
      [query.vault_key_id, Text.key, this.keys],
      [query.agent_run_id, Text.run, this.runs],
      [query.customer_scope_id, Text.customer, this.customers],
    ];
    this.filters = filters.filter(([v]) => v !== undefined).map(([v, field, values]) => new Filter(field, values, v!));
  }

  /** Count one row given as text. Nothing keeps the row: the caller may reuse it. */
  add(row: AuditRow): void {
    const r = this.textOfRow;
    r.row = row;
    r.started = row.started_at;
    r.finished = row.finished_at ?? NaN;
    r.micros = toMicros(row.cost_usd);
    r.costKnown = row.cost_known;
    r.outcomeUnknown = row.outcome_unknown;
    r.estimateMicros = toMicros(row.estimate_usd);
    this.count(r);
  }

  /** Count one row. */
  count(text: CountedRow): void {
    this.rowsRead++;
    const started = text.started;
    const micros = text.micros;
    if (!this.matches(text)) return;
    const a = this.a;
    a.calls_total++;
    const verdict = text.id(Text.verdict, this.verdicts);
    this.byVerdict.add(verdict, 0);
    const minute = Math.floor(started / MINUTE_MS);
    if (minute !== this.minute) this.flushMinute(minute);
    this.minuteCalls++;
    const allowed = this.isAllowed(verdict);
    if (allowed) {
      // The cost, and who and what the money moved for: allowed calls only (a refused call moved none).
      this.micros += micros;
      this.byCustomer.add(text.id(Text.customer, this.customers), micros);
      this.byRun.add(text.id(Text.run, this.runs), micros);
      this.byKey.add(text.id(Text.key, this.keys), micros);
      this.endpoints.add(text, micros);
      this.minuteMicros += micros;
      if (!text.costKnown) {
        a.cost_unknown_calls!++;
        this.minuteUnknown++;
      }
    }
    if (text.outcomeUnknown) {
      a.outcome_unknown.calls++;
      a.outcome_unknown.estimated_micros += text.estimateMicros;
    }
    if (started < this.first) this.first = started;
    if (started > this.last) this.last = started;
    if (a.after_revoke) this.afterRevoke(text, allowed);
  }

  private matches(text: CountedRow): boolean {
    const q = this.query;
    const started = text.started;
    if (q.from !== undefined && started < q.from) return false;
    if (q.to !== undefined && started >= q.to) return false;
    for (const f of this.filters) if (!f.matches(text.id(f.field, f.values))) return false;
    return true;
  }

  private isAllowed(verdict: number): boolean {
    if (verdict >= this.allowed.length) {
      const a = new Uint8Array(Math.max(verdict + 1, this.allowed.length * 2));
      a.set(this.allowed);
      this.allowed = a;
    }
    if (this.allowed[verdict] === 0)
      this.allowed[verdict] = ALLOWED_VERDICTS.has(this.verdicts.text(verdict) ?? 'unknown') ? 1 : 2;
    return this.allowed[verdict] === 1;
  }

  private flushMinute(next: number): void {
    const pm = this.a.per_minute;
    if (this.minuteCalls > 0) {
      pm.set(this.minute, (pm.get(this.minute) ?? 0) + this.minuteCalls);
      const pc = this.a.per_minute_cost!;
      pc.set(this.minute, (pc.get(this.minute) ?? 0) + this.minuteMicros);
      const pu = this.a.per_minute_cost_unknown!;
      pu.set(this.minute, (pu.get(this.minute) ?? 0) + this.minuteUnknown);
    }
    this.minute = next;
    this.minuteCalls = 0;
    this.minuteMicros = 0;
    this.minuteUnknown = 0;
  }

  private afterRevoke(row: CountedRow, allowed: boolean): void {
    const started = row.started;
    const finished = row.finished;
    const revokedAt = this.query.revoked_at!;
    const ar = this.a.after_revoke!;
    if (started >= revokedAt) {
      ar.later++;
      if (allowed) ar.later_allowed++;
    } else if (finished > revokedAt) ar.in_flight!++; // NaN (unknown) is never after
  }

  bad(line: number): void {
    const b = this.a.bad_rows;
    b.count++;
    if (b.first_lines.length < MAX_BAD_LINES) b.first_lines.push(line);
  }

  /** The bad rows counted since the last call, and start counting afresh (one stretch of a file at a time). */
  takeBadRows(): BadRows {
    const b = this.a.bad_rows;
    this.a.bad_rows = { count: 0, first_lines: [] };
    return b;
  }

  /** The aggregate of the rows added so far, in text. */
  get agg(): Aggregate {
    this.flushMinute(NaN);
    const a = this.a;
    a.cost_micros = this.micros;
    a.first_call = a.calls_total > 0 ? this.first : null;
    a.last_call = a.calls_total > 0 ? this.last : null;
    a.by_verdict = new Map();
    // No verdict reads as `unknown`, as a row written with that word does: one entry for both.
    for (const [v, c] of toMap(this.verdicts, this.byVerdict))
      a.by_verdict.set(v ?? 'unknown', (a.by_verdict.get(v ?? 'unknown') ?? 0) + c.calls);
    a.customers = toMap(this.customers, this.byCustomer);
    a.agent_runs = toMap(this.runs, this.byRun);
    a.vault_keys = toMap(this.keys, this.byKey);
    a.endpoints = this.endpoints.toMap();
    return a;
  }
}
