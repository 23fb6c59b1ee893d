import type { ColumnMap } from '../columns.js';
import type { Accumulator } from '../accumulate.js';
import { toMicros } from '../accumulate.js';
import type { Interner } from '../intern.js';
import type { CountedRow } from '../accumulate.js';
import { checkCost, readCost, readFinished } from '../rows.js';
import { parseAuditTime } from '../time.js';
import { isoZuluMs, latin1, simpleDecimal, text } from './bytes.js';

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
export const ROW_FIELDS = ['started_at', 'finished_at', 'vault_key_id', 'agent_run_id', 'customer_scope_id', 'method', 'path', 'policy_verdict', 'cost_usd_parsed'] as const;

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
  private readonly startedSlot: number;
  private readonly finishedSlot: number;
  private readonly costSlot: number;
  /** Slot of each text field, in Text's numbering (-1: not read). */
  private readonly textSlot: Int32Array;
  private buf: Buffer = Buffer.alloc(0);

  /** withFinished: finished_at is only read when the summary needs it (the after-revoke split). */
  constructor(
    private readonly slots: FieldSlots,
    cols: ColumnMap,
    private readonly withFinished: boolean,
  ) {
    const slot = (f: (typeof ROW_FIELDS)[number]) => slots.names.indexOf(cols[f]);
    this.startedSlot = slot('started_at');
    this.finishedSlot = slot('finished_at');
    this.costSlot = slot('cost_usd_parsed');
    this.textSlot = Int32Array.from(TEXT_FIELDS, slot);
  }

  /**
   * Count the record into acc; false when it is a bad row. Throws SLOW, before counting
   * anything, when a value needs JSON.parse.
   */
  countInto(buf: Buffer, acc: Accumulator): boolean {
    const s = this.slots;
    for (const slot of this.textSlot) if (s.kind[slot] === ValueKind.Other) throw SLOW;
    const started = this.time(buf, this.startedSlot);
    if (Number.isNaN(started)) return false;
    const usd = this.readCost(buf, this.costSlot);
    if (Number.isNaN(usd)) return false;
    this.started = started;
    this.micros = toMicros(usd);
    this.finished = this.withFinished ? (this.readFinished(buf, this.finishedSlot) ?? NaN) : NaN;
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
      default:
        throw SLOW;
    }
  }

  private fastTime(buf: Buffer, slot: number): number {
    return this.slots.kind[slot] === ValueKind.String ? isoZuluMs(buf, this.slots.start[slot]!, this.slots.end[slot]!) : NaN;
  }

  private time(buf: Buffer, slot: number): number {
    const ms = this.fastTime(buf, slot);
    return Number.isNaN(ms) ? parseAuditTime(this.value(buf, slot)) : ms;
  }

  private readFinished(buf: Buffer, slot: number): number | null {
    const ms = this.fastTime(buf, slot);
    return Number.isNaN(ms) ? readFinished(this.value(buf, slot)) : ms;
  }

  private readCost(buf: Buffer, slot: number): number {
    const s = this.slots;
    const k = s.kind[slot];
    if (k === ValueKind.Number || k === ValueKind.String) {
      const usd = simpleDecimal(buf, s.start[slot]!, s.end[slot]!);
      if (!Number.isNaN(usd)) return checkCost(usd);
    }
    return readCost(this.value(buf, slot));
  }
}
