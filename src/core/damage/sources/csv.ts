import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { scanText, type ScanOptions, type TextInput } from '../scan/text.js';

export { splitCsv } from '../scan/csv-sink.js';

/**
 * CSV with a header row naming the columns. A quoted field may span lines; a record whose
 * field count differs from the header's is a bad row, reported by its first line number.
 */
export class CsvSource implements AuditSource {
  readonly label: string;

  constructor(
    private readonly input: TextInput,
    private readonly cols: ColumnMap,
    private readonly opts: ScanOptions = {},
  ) {
    this.label = input.label;
  }

  aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate> {
    return scanText('csv', this.input, this.cols, query, this.opts, signal);
  }
}
