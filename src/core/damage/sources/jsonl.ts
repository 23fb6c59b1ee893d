import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { Accumulator } from '../accumulate.js';
import { normalizeRecord } from '../rows.js';
import { forEachLine, type StreamOpener } from './lines.js';

/** JSON Lines: one audit row per line. Blank lines are skipped; anything else unreadable is a bad row. */
export class JsonlSource implements AuditSource {
  constructor(
    readonly label: string,
    private readonly open: StreamOpener,
    private readonly cols: ColumnMap,
  ) {}

  async aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate> {
    const acc = new Accumulator(query);
    await forEachLine(
      this.open(),
      (line, n) => {
        if (line.trim() === '') return;
        let rec: unknown;
        try {
          rec = JSON.parse(line);
        } catch {
          acc.bad(n);
          return;
        }
        const row = rec !== null && typeof rec === 'object' && !Array.isArray(rec) ? normalizeRecord(rec as Record<string, unknown>, this.cols) : null;
        if (row) acc.add(row);
        else acc.bad(n);
      },
      signal,
    );
    return acc.agg;
  }
}
