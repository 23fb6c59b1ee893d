import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { scanText, type ScanOptions, type TextInput } from '../scan/text.js';

/** JSON Lines: one audit row per line. Blank lines are skipped; anything else unreadable is a bad row. */
export class JsonlSource implements AuditSource {
  readonly label: string;

  constructor(
    private readonly input: TextInput,
    private readonly cols: ColumnMap,
    private readonly opts: ScanOptions = {},
  ) {
    this.label = input.label;
  }

  aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate> {
    return scanText('jsonl', this.input, this.cols, query, this.opts, signal);
  }
}
