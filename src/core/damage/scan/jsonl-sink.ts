import type { ColumnMap } from '../columns.js';
import type { Accumulator } from '../accumulate.js';
import type { LineSink } from './lines.js';
import { JsonlRowReader } from './jsonl-row.js';
import { utf8 } from './bytes.js';

/** Only ASCII whitespace: the cheap test; anything else blank-looking is settled by trim(). */
export function asciiBlank(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b !== 32 && b !== 9 && b !== 13 && b !== 11 && b !== 12) return false;
  }
  return true;
}

/** A line that did not read as a row is bad, unless it is blank by String#trim's wider rule. */
export const blankByTrim = (buf: Buffer, start: number, end: number) => utf8(buf, start, end).trim() === '';

/** JSON Lines: one audit row per line. Blank lines are skipped; anything else unreadable is a bad row. */
export class JsonlSink implements LineSink {
  private readonly reader: JsonlRowReader;

  constructor(
    private readonly acc: Accumulator,
    cols: ColumnMap,
  ) {
    this.reader = new JsonlRowReader(cols, acc);
  }

  line(buf: Buffer, start: number, end: number, n: number): void {
    if (asciiBlank(buf, start, end)) return;
    if (!this.reader.count(buf, start, end) && !blankByTrim(buf, start, end)) this.acc.bad(n);
  }

  tooLong(n: number): void {
    this.acc.bad(n);
  }

  /** Nothing is held between lines. */
  finish(): boolean {
    return false;
  }
}
