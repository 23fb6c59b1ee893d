/**
 * What a JSONL or CSV audit file says, read the plain way: the whole text, a line at a time,
 * JSON.parse or splitCsv, normalizeRecord, Accumulator.add. The byte scanners and the parallel
 * path must give exactly this summary, bad rows and their line numbers included.
 */
import type { ColumnMap } from '../../src/core/damage/columns.js';
import type { DamageQuery, DamageSummary } from '../../src/core/damage/types.js';
import { Accumulator } from '../../src/core/damage/accumulate.js';
import { normalizeRecord } from '../../src/core/damage/rows.js';
import { splitCsv } from '../../src/core/damage/sources/csv.js';
import { summarize } from '../../src/core/damage/summary.js';
import { MAX_LINE_BYTES } from '../../src/core/damage/scan/lines.js';

export interface Reference {
  summary: DamageSummary;
  rowsRead: number;
}

function lines(text: string): string[] {
  const all = text.replace(/^\uFEFF/, '').split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.map((l) => l.replace(/\r$/, ''));
}

const tooLong = (line: string) => Buffer.byteLength(line) > MAX_LINE_BYTES;

export function referenceJsonl(text: string, cols: ColumnMap, query: DamageQuery): Reference {
  const acc = new Accumulator(query);
  lines(text).forEach((line, i) => {
    if (line.trim() === '') return;
    let rec: unknown;
    try {
      rec = tooLong(line) ? null : JSON.parse(line);
    } catch {
      rec = null;
    }
    const row =
      rec !== null && typeof rec === 'object' && !Array.isArray(rec)
        ? normalizeRecord(rec as Record<string, unknown>, cols)
        : null;
    if (row) acc.add(row);
    else acc.bad(i + 1);
  });
  return { summary: summarize(acc.agg, query, 'ref'), rowsRead: acc.rowsRead };
}

export function referenceCsv(text: string, cols: ColumnMap, query: DamageQuery): Reference {
  const acc = new Accumulator(query);
  let header: string[] | null = null;
  let pending = '';
  let pendingLine = 0;
  const record = (line: string, n: number) => {
    const fields = splitCsv(line);
    if (fields === null) {
      if (pending === '') pendingLine = n;
      if (line.length > 1 << 16) return acc.bad(pendingLine);
      pending = line + '\n';
      return;
    }
    if (header === null) return void (header = fields.map((h) => h.trim()));
    if (fields.length !== header.length) return acc.bad(n);
    const rec: Record<string, string> = Object.create(null);
    header.forEach((h, i) => (rec[h] = fields[i]!));
    const row = normalizeRecord(rec, cols);
    if (row) acc.add(row);
    else acc.bad(n);
  };
  lines(text).forEach((line, i) => {
    if (tooLong(line)) {
      if (pending !== '') i = pendingLine - 1;
      pending = '';
      return acc.bad(i + 1);
    }
    if (pending !== '') {
      const joined = pending + line;
      pending = '';
      return record(joined, pendingLine);
    }
    if (line.trim() !== '') record(line, i + 1);
  });
  if (pending !== '') acc.bad(pendingLine);
  return { summary: summarize(acc.agg, query, 'ref'), rowsRead: acc.rowsRead };
}
