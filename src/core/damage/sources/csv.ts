import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { Accumulator } from '../accumulate.js';
import { normalizeRecord } from '../rows.js';
import { usageError } from '../../errors.js';
import { forEachLine, type StreamOpener } from './lines.js';

const MAX_RECORD_CHARS = 1 << 16;

/** Split one CSV record (RFC 4180: quoted fields, doubled quotes). Null when a quote is left open. */
export function splitCsv(line: string): string[] | null {
  if (!line.includes('"')) return line.split(',');
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) return null;
  out.push(field);
  return out;
}

/**
 * CSV with a header row naming the columns. A quoted field may span lines; a record whose
 * field count differs from the header's is a bad row, reported by its first line number.
 */
export class CsvSource implements AuditSource {
  constructor(
    readonly label: string,
    private readonly open: StreamOpener,
    private readonly cols: ColumnMap,
  ) {}

  async aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate> {
    const acc = new Accumulator(query);
    let header: string[] | null = null;
    let pending = '';
    let pendingLine = 0;
    const record = (text: string, n: number) => {
      const fields = splitCsv(text);
      if (fields === null) {
        if (pending === '') pendingLine = n;
        // An unclosed quote must not swallow the rest of the file into memory.
        if (text.length > MAX_RECORD_CHARS) return acc.bad(pendingLine);
        pending = text + '\n';
        return;
      }
      if (header === null) {
        header = fields.map((h) => h.trim());
        if (!header.includes(this.cols.started_at))
          throw usageError(`CSV header has no ${this.cols.started_at} column`, 'name the columns in the first line, or map them with --columns');
        return;
      }
      if (fields.length !== header.length) return acc.bad(n);
      const rec: Record<string, string> = {};
      for (let i = 0; i < header.length; i++) rec[header[i]!] = fields[i]!;
      const row = normalizeRecord(rec, this.cols);
      if (row) acc.add(row);
      else acc.bad(n);
    };
    await forEachLine(
      this.open(),
      (line, n) => {
        if (pending !== '') {
          const joined = pending + line;
          pending = '';
          return record(joined, pendingLine);
        }
        if (line.trim() === '') return;
        record(line, n);
      },
      signal,
    );
    if (pending !== '') acc.bad(pendingLine);
    return acc.agg;
  }
}
