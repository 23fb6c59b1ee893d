import type { ColumnMap } from '../columns.js';
import type { Accumulator } from '../accumulate.js';
import { toMicros } from '../accumulate.js';
import type { Interner } from '../intern.js';
import type { CountedRow } from '../accumulate.js';
import { checkCost, readCost } from '../rows.js';
import { parseAuditTime } from '../time.js';
import { latin1, readDecimal, readIsoZulu, text } from './bytes.js';

/** How a value sits in its slot. */
export const ValueKind = {
  Absent: 0,
  Null: 1,
  String: 2,
  Number: 3,
  /** true, false, or a string with escapes: only JSON.parse reads these. */
  Other: 4,
} as const;

/** The row fields read from a record, by their (possibly shared) column names. */
export const ROW_FIELDS = [
  'started_at',
  'finished_at',
  'vault_key_id',
  'agent_run_id',
  'customer_scope_id',
  'method',
  'path',
  'policy_verdict',
  'cost_usd_parsed',
  'outcome',
  'amount_usd_estimated',
] as const;

/** The text fields in Text's numbering. */
const TEXT_FIELDS = ['policy_verdict', 'customer_scope_id', 'agent_run_id', 'vault_key_id', 'method', 'path'] as const;

/** Where each wanted column's value is in the current line. Reused from line to line. */
export class FieldSlots {
  readonly kind: Uint8Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly ascii: Uint8Array;

  constructor(readonly names: readonly string[]) {
    this.kind = new Uint8Array(names.length);
    this.start = new Int32Array(names.length);
    this.end = new Int32Array(names.length);
    this.ascii = new Uint8Array(names.length);
  }

  /** The distinct column names the row fields are read from. */
  static forColumns(cols: ColumnMap): FieldSlots {
    return new FieldSlots([...new Set(ROW_FIELDS.map((f) => cols[f]))]);
  }
}

/** A value the fast path cannot read: the caller decodes the record the general way. */
export const SLOW = Symbol('slow');

/**
 * Counts the record described by FieldSlots, reading its values exactly as normalizeRecord
 * reads the same values: times and costs in their common shapes straight from bytes, the rest
 * decoded and handed to the readers rows.ts uses; text fields numbered from their bytes.
 */
export class RowBuilder implements CountedRow {
  started = 0;
  finished = NaN;
  micros = 0;
  costKnown = true;
  outcomeUnknown = false;
  estimateMicros = 0;
  private readonly startedSlot: number;
  private readonly finishedSlot: number;
  private readonly costSlot: number;
  private readonly outcomeSlot: number;
  private readonly estimateSlot: number;
  /** Slot of each text field, in Text's numbering (-1: not read). */
  private readonly textSlot: Int32Array;
  private buf: Buffer = Buffer.alloc(0);
  private readonly numbers = new Float64Array(4);

  /** finishedBefore: finished_at is only read for rows that started before it (Accumulator.finishedBefore). */
  constructor(
    private readonly slots: FieldSlots,
    cols: ColumnMap,
    private readonly finishedBefore: number,
  ) {
    const slot = (f: (typeof ROW_FIELDS)[number]) => slots.names.indexOf(cols[f]);
    this.startedSlot = slot('started_at');
    this.finishedSlot = slot('finished_at');
    this.costSlot = slot('cost_usd_parsed');
    this.outcomeSlot = slot('outcome');
    this.estimateSlot = slot('amount_usd_estimated');
    this.textSlot = Int32Array.from(TEXT_FIELDS, slot);
  }

  /**
   * Count the record into acc; false when it is a bad row. Throws SLOW, before counting
   * anything, when a value needs JSON.parse.
   */
  countInto(buf: Buffer, acc: Accumulator): boolean {
    const s = this.slots;
    for (let f = 0; f < this.textSlot.length; f++)
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- SLOW is a sentinel (jsonl-row.ts): no stack per row on the hot path
      if (s.kind[this.textSlot[f]!] === ValueKind.Other) throw SLOW;
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- SLOW is the sentinel the scanners catch (as above)
    if (s.kind[this.outcomeSlot] === ValueKind.Other) throw SLOW;
    const n = this.numbers;
    if (!this.time(buf, this.startedSlot, STARTED)) return false;
    if (!this.cost(buf, this.costSlot, USD)) return false;
    // As normalizeRecord: no cost written is unknown; an unreadable estimate is none.
    this.costKnown = !this.blank(this.costSlot);
    this.outcomeUnknown = this.unknownOutcome(buf);
    this.estimateMicros = this.cost(buf, this.estimateSlot, ESTIMATE) ? toMicros(n[ESTIMATE]!) : 0;
    // An unreadable finished time is unknown (NaN), never a reason to drop the row.
    if (n[STARTED]! < this.finishedBefore) this.time(buf, this.finishedSlot, FINISHED);
    else n[FINISHED] = NaN;
    this.started = n[STARTED]!;
    this.finished = n[FINISHED]!;
    this.micros = toMicros(n[USD]!);
    this.buf = buf;
    acc.count(this);
    return true;
  }

  /** RowText: the id of a text field's value, from its bytes. */
  id(field: number, values: Interner): number {
    const slot = this.textSlot[field]!;
    const s = this.slots;
    switch (s.kind[slot]) {
      case ValueKind.String:
        return values.ofBytes(this.buf, s.start[slot]!, s.end[slot]!);
      case ValueKind.Number:
        return values.ofText(String(Number(latin1(this.buf, s.start[slot]!, s.end[slot]!))));
      case undefined:
      default:
        return 0;
    }
  }

  /** The value in a slot as JSON.parse (or the CSV splitter) would give it. */
  private value(buf: Buffer, slot: number): string | number | null {
    const s = this.slots;
    switch (s.kind[slot]) {
      case ValueKind.Absent:
      case ValueKind.Null:
        return null;
      case ValueKind.String:
        return text(buf, s.start[slot]!, s.end[slot]!, s.ascii[slot] === 1);
      case ValueKind.Number:
        return Number(latin1(buf, s.start[slot]!, s.end[slot]!));
      case undefined:
      default:
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a sentinel, as above
        throw SLOW;
    }
  }

  /** A time into numbers[at]; false when it is not one. */
  private time(buf: Buffer, slot: number, at: number): boolean {
    const s = this.slots;
    if (s.kind[slot] === ValueKind.String && readIsoZulu(buf, s.start[slot]!, s.end[slot]!, this.numbers, at))
      return true;
    const ms = parseAuditTime(this.value(buf, slot));
    this.numbers[at] = ms;
    return !Number.isNaN(ms);
  }

  /** A cost into numbers[at]; false when it is not a sane one. */
  private cost(buf: Buffer, slot: number, at: number): boolean {
    const s = this.slots;
    const k = s.kind[slot];
    const n = this.numbers;
    const read =
      (k === ValueKind.Number || k === ValueKind.String) && readDecimal(buf, s.start[slot]!, s.end[slot]!, n, at);
    n[at] = read ? checkCost(n[at]!) : readCost(this.value(buf, slot));
    return !Number.isNaN(n[at]);
  }

  /** No value written (rows.ts isBlank): absent, null, or an empty string. */
  private blank(slot: number): boolean {
    const s = this.slots;
    const k = s.kind[slot];
    return k === ValueKind.Absent || k === ValueKind.Null || (k === ValueKind.String && s.end[slot] === s.start[slot]);
  }

  /** `outcome` is `pending` or `unknown` (rows.ts isUnknownOutcome); both are 7 plain bytes. */
  private unknownOutcome(buf: Buffer): boolean {
    const s = this.slots;
    const slot = this.outcomeSlot;
    if (s.kind[slot] !== ValueKind.String || s.end[slot]! - s.start[slot]! !== 7) return false;
    const v = latin1(buf, s.start[slot]!, s.end[slot]!);
    return v === 'pending' || v === 'unknown';
  }
}

/** Where countInto puts a row's numbers before they become fields (see readIsoZulu on why an array). */
const STARTED = 0;
const FINISHED = 1;
const USD = 2;
const ESTIMATE = 3;
