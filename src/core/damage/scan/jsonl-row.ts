import type { ColumnMap } from '../columns.js';
import type { Accumulator } from '../accumulate.js';
import { normalizeRecord } from '../rows.js';
import { JsonLineScanner } from './json-line.js';
import { FieldSlots, RowBuilder, SLOW } from './row-builder.js';
import { utf8 } from './bytes.js';

/**
 * One JSONL line counted as an audit row. The common line is read by the byte scanner; any
 * other goes through JSON.parse and normalizeRecord, the definition of what a row is.
 */
export class JsonlRowReader {
  private readonly scanner: JsonLineScanner;
  private readonly builder: RowBuilder;

  constructor(
    private readonly cols: ColumnMap,
    private readonly acc: Accumulator,
  ) {
    const slots = FieldSlots.forColumns(cols);
    this.scanner = new JsonLineScanner(slots);
    this.builder = new RowBuilder(slots, cols, acc.finishedBefore);
  }

  /** Count the line's row; false when it is not one (a bad row). */
  count(buf: Buffer, start: number, end: number): boolean {
    if (this.scanner.scan(buf, start, end)) {
      try {
        return this.builder.countInto(buf, this.acc);
      } catch (err) {
        if (err !== SLOW) throw err;
      }
    }
    return this.slow(buf, start, end);
  }

  /** The definition: JSON.parse, then normalizeRecord. */
  private slow(buf: Buffer, start: number, end: number): boolean {
    let rec: unknown;
    try {
      rec = JSON.parse(utf8(buf, start, end));
    } catch {
      return false;
    }
    const row =
      rec !== null && typeof rec === 'object' && !Array.isArray(rec)
        ? normalizeRecord(rec as Record<string, unknown>, this.cols)
        : null;
    if (row === null) return false;
    this.acc.add(row);
    return true;
  }
}
