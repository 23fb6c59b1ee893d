import type { ColumnMap } from '../columns.js';
import type { Accumulator } from '../accumulate.js';
import type { LineSink } from './lines.js';
import { normalizeRecord } from '../rows.js';
import { usageError } from '../../errors.js';
import { FieldSlots, RowBuilder, ValueKind } from './row-builder.js';
import { asciiBlank, blankByTrim } from './jsonl-sink.js';
import { utf8 } from './bytes.js';

/** An unclosed quote must not swallow the rest of the file into memory. */
const MAX_RECORD_CHARS = 1 << 16;

/**
 * Split one CSV record (RFC 4180: quoted fields, doubled quotes). Null when a quote is left open.
 * A quote opens a quoted field only at the field's start; elsewhere (`cus_"b`) it is text, so a
 * stray one cannot swallow the records after it. The parallel reader cuts a file at any newline
 * and reads a stretch again on one thread when this leaves a record open at its end, so both
 * paths follow this one rule.
 */
export function splitCsv(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  let atStart = true;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && atStart) quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
      atStart = true;
      continue;
    } else field += ch;
    atStart = false;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

/** The header record's column names, checked for the one column a row cannot do without. */
export function csvHeader(fields: string[], cols: ColumnMap): string[] {
  const header = fields.map((h) => h.trim());
  if (!header.includes(cols.started_at))
    throw usageError(
      `CSV header has no ${cols.started_at} column`,
      'name the columns in the first line, or map them with --columns',
    );
  return header;
}

/**
 * CSV with a header row naming the columns. A quoted field may span lines; a record whose
 * field count differs from the header's is a bad row, reported by its first line number.
 * A line without quotes is split on its bytes; any other goes through splitCsv.
 */
export class CsvSink implements LineSink {
  private pending = '';
  private pendingLine = 0;
  private readonly slots: FieldSlots;
  private readonly builder: RowBuilder;
  /** Header column of each slot (-1: not in the file). */
  private columnOf: Int32Array = new Int32Array(0);
  private commas: Int32Array = new Int32Array(0);

  constructor(
    private readonly acc: Accumulator,
    private readonly cols: ColumnMap,
    private header: string[] | null = null,
  ) {
    this.slots = FieldSlots.forColumns(cols);
    this.builder = new RowBuilder(this.slots, cols, acc.finishedBefore);
    if (header) this.setHeader(header);
  }

  line(buf: Buffer, start: number, end: number, n: number): void {
    if (this.pending !== '') {
      const joined = this.pending + utf8(buf, start, end);
      this.pending = '';
      return this.record(joined, this.pendingLine);
    }
    if (asciiBlank(buf, start, end)) return;
    if (this.header !== null && this.fast(buf, start, end, n)) return;
    const text = utf8(buf, start, end);
    if (text.trim() !== '') this.record(text, n);
  }

  tooLong(n: number): void {
    if (this.pending !== '') {
      this.pending = '';
      n = this.pendingLine;
    }
    this.acc.bad(n);
  }

  /** End of input: a record left open. On the last stretch it is a bad row; else true (the caller redoes). */
  finish(last: boolean): boolean {
    if (this.pending === '') return false;
    if (!last) return true;
    this.pending = '';
    this.acc.bad(this.pendingLine);
    return false;
  }

  private setHeader(header: string[]): void {
    this.header = header;
    this.columnOf = Int32Array.from(this.slots.names, (name) => header.lastIndexOf(name));
    this.commas = new Int32Array(header.length);
  }

  private record(text: string, n: number): void {
    const fields = splitCsv(text);
    if (fields === null) {
      if (this.pending === '') this.pendingLine = n;
      if (text.length > MAX_RECORD_CHARS) return this.acc.bad(this.pendingLine);
      this.pending = text + '\n';
      return;
    }
    if (this.header === null) return this.setHeader(csvHeader(fields, this.cols));
    const header = this.header;
    if (fields.length !== header.length) return this.acc.bad(n);
    const rec = Object.create(null) as Record<string, string>;
    for (let i = 0; i < header.length; i++) rec[header[i]!] = fields[i]!;
    const row = normalizeRecord(rec, this.cols);
    if (row) this.acc.add(row);
    else this.acc.bad(n);
  }

  /** A line with no quote: fields between commas, read straight from bytes. False: take the general path. */
  private fast(buf: Buffer, start: number, end: number, n: number): boolean {
    const commas = this.commas;
    let count = 0;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b === 44) {
        if (count < commas.length) commas[count] = i;
        count++;
      } else if (b === 34) return false;
      else if (b >= 128) ascii = false;
    }
    if (count + 1 !== commas.length) {
      if (!blankByTrim(buf, start, end)) this.acc.bad(n);
      return true;
    }
    commas[count] = end;
    const s = this.slots;
    for (let slot = 0; slot < s.names.length; slot++) {
      const col = this.columnOf[slot]!;
      if (col < 0) {
        s.kind[slot] = ValueKind.Absent;
        continue;
      }
      s.kind[slot] = ValueKind.String;
      s.start[slot] = col === 0 ? start : commas[col - 1]! + 1;
      s.end[slot] = commas[col]!;
      s.ascii[slot] = ascii ? 1 : 0;
    }
    if (!this.builder.countInto(buf, this.acc) && !blankByTrim(buf, start, end)) this.acc.bad(n);
    return true;
  }
}
