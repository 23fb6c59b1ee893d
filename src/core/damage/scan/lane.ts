import { closeSync, openSync, readSync } from 'node:fs';
import type { Aggregate, BadRows, DamageQuery } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { Accumulator } from '../accumulate.js';
import { InvalidUtf8, LineSplitter, type LineSink } from './lines.js';
import { JsonlSink } from './jsonl-sink.js';
import { CsvSink } from './csv-sink.js';

export type TextFormat = 'jsonl' | 'csv';

/** What to scan: plain data, so it can be posted to a worker thread. */
export interface ScanSpec {
  format: TextFormat;
  path: string;
  cols: ColumnMap;
  query: DamageQuery;
  /** CSV read in stretches: the header, read once by the main thread. */
  header?: string[];
}

/** A stretch of the file, [start, end) in bytes, beginning at a line start. */
export interface Stretch {
  index: number;
  start: number;
  end: number;
  /** The file's last stretch: a record left open at its end is a bad row, not a reason to redo. */
  last: boolean;
}

export interface StretchResult {
  index: number;
  /** Lines in the stretch (the last may lack its newline). */
  lines: number;
  /** Bad rows, numbered from the stretch's first line. */
  bad: BadRows;
  /** A CSV record was still open at the end: the next stretch did not start at a record. */
  open: boolean;
  /** The first line (numbered within the stretch) that is not UTF-8; the rest was not read. */
  invalidUtf8?: number;
}

export interface LaneResult {
  agg: Aggregate;
  rowsRead: number;
  stretches: StretchResult[];
}

/** Bytes read at a time: big enough to amortise the call, small enough for a thread's cache and heap. */
const READ_BYTES = 1 << 20;

export const sinkFor = (spec: ScanSpec, acc: Accumulator): LineSink & { finish(last: boolean): boolean } =>
  spec.format === 'jsonl' ? new JsonlSink(acc, spec.cols) : new CsvSink(acc, spec.cols, spec.header ?? null);

/**
 * One thread's share of a file: the stretches it is given, into one aggregate. Reads are
 * synchronous (a worker thread has nothing else to do); scan() yields after every read so the
 * main thread can interleave its event loop when it scans too.
 */
export class Lane {
  private readonly acc: Accumulator;
  private readonly buf = Buffer.allocUnsafe(READ_BYTES);
  private readonly fd: number;
  private readonly stretches: StretchResult[] = [];

  constructor(private readonly spec: ScanSpec) {
    this.acc = new Accumulator(spec.query);
    this.fd = openSync(spec.path, 'r');
  }

  *scan(s: Stretch): Generator<void, StretchResult> {
    const sink = sinkFor(this.spec, this.acc);
    // A byte-order mark is only one at the very start of the file.
    const splitter = new LineSplitter(sink, { bomAtStart: s.start === 0 });
    let result: StretchResult;
    try {
      for (let pos = s.start; pos < s.end;) {
        const n = readSync(this.fd, this.buf, 0, Math.min(READ_BYTES, s.end - pos), pos);
        if (n === 0) break; // the file was cut short while we read: what is there is what counts
        splitter.push(this.buf, 0, n);
        pos += n;
        yield;
      }
      splitter.end();
      const open = sink.finish(s.last);
      result = { index: s.index, lines: splitter.lines, bad: this.acc.takeBadRows(), open };
    } catch (err) {
      if (!(err instanceof InvalidUtf8)) throw err;
      result = { index: s.index, lines: err.line, bad: this.acc.takeBadRows(), open: false, invalidUtf8: err.line };
    }
    this.stretches.push(result);
    return result;
  }

  /** Scan stretches until none is left, synchronously (a worker thread has nothing else to do). */
  scanAll(next: () => Stretch | undefined): LaneResult {
    for (let s = next(); s; s = next()) for (const _ of this.scan(s));
    return this.result();
  }

  result(): LaneResult {
    return { agg: this.acc.agg, rowsRead: this.acc.rowsRead, stretches: this.stretches };
  }

  close(): void {
    closeSync(this.fd);
  }
}
