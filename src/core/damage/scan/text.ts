import { closeSync, fstatSync, openSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Aggregate, DamageQuery } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { Accumulator } from '../accumulate.js';
import { usageError } from '../../errors.js';
import { InvalidUtf8, LineSplitter, notUtf8, pumpStream } from './lines.js';
import { sinkFor, type ScanSpec, type Stretch, type TextFormat } from './lane.js';
import type { LanesOutcome } from './parallel.js';
import { lineStretches, readCsvHead } from './stretches.js';

/** A text audit source: a file (which can be read in stretches) or a stream such as stdin. */
export interface TextInput {
  label: string;
  /** The file's path; null for a stream. */
  path: string | null;
  open: () => NodeJS.ReadableStream;
}

export interface ScanOptions {
  /** Threads to read a file on; default: up to MAX_THREADS cores for a file of PARALLEL_BYTES or more. */
  threads?: number;
  /** Bytes per stretch (tests use small ones to put stretch boundaries everywhere). */
  stretchBytes?: number;
  /** --debug: how the file was read (threads, stretches each took). */
  trace?: (line: string) => void;
}

/** Below this a second thread costs more to start than it saves. */
export const PARALLEL_BYTES = 16 << 20;
/** More threads than this add memory (each holds its own maps) for little time. */
export const MAX_THREADS = 4;

/**
 * The lanes' module, loaded apart: it is also the worker threads' entry, and a worker should load
 * the scanner and nothing else of the CLI (not the HTTP client, not the renderers).
 */
const lanes = () => import('./parallel.js');

export const defaultThreads = () => Math.max(1, Math.min(MAX_THREADS, availableParallelism()));

function stretchBytes(size: number, threads: number, opts: ScanOptions): number {
  // Many stretches per thread: a thread slowed by a busy machine takes fewer of them, and the
  // last one to finish waits for at most one small stretch.
  return opts.stretchBytes ?? Math.min(4 << 20, Math.max(256 << 10, Math.ceil(size / (threads * 32))));
}

async function scanFile(
  format: TextFormat,
  path: string,
  cols: ColumnMap,
  query: DamageQuery,
  opts: ScanOptions,
  signal?: AbortSignal,
): Promise<LanesOutcome> {
  const spec: ScanSpec = { format, path, cols, query };
  const fd = openSync(path, 'r');
  let parallel: { spec: ScanSpec; stretches: Stretch[]; linesBefore: number } | null = null;
  let size: number;
  try {
    size = fstatSync(fd).size;
    const threads = opts.threads ?? (size >= PARALLEL_BYTES ? defaultThreads() : 1);
    const head = threads > 1 && format === 'csv' ? readCsvHead(fd, cols) : undefined;
    if (threads > 1 && head !== null) {
      const from = head?.end ?? 0;
      const stretches = lineStretches(fd, from, size, stretchBytes(size - from, threads, opts));
      parallel = { spec: { ...spec, header: head?.header }, stretches, linesBefore: head?.lines ?? 0 };
    }
    if (parallel) {
      const outcome = await (
        await lanes()
      ).scanInLanes(parallel.spec, parallel.stretches, threads, parallel.linesBefore, signal);
      opts.trace?.(
        `${path}: ${parallel.stretches.length} stretches, taken per thread: ${outcome.taken.join(', ')}${outcome.redo ? '; read again on one thread' : ''}`,
      );
      if (!outcome.redo) return outcome;
    }
  } finally {
    closeSync(fd);
  }
  return (await lanes()).scanInLanes(spec, [{ index: 0, start: 0, end: size, last: true }], 1, 0, signal);
}

async function scanStream(
  format: TextFormat,
  stream: NodeJS.ReadableStream,
  cols: ColumnMap,
  query: DamageQuery,
  signal?: AbortSignal,
): Promise<LanesOutcome> {
  const acc = new Accumulator(query);
  const sink = sinkFor({ format, path: '', cols, query }, acc);
  const splitter = new LineSplitter(sink);
  try {
    await pumpStream(stream, splitter, signal);
  } catch (err) {
    if (err instanceof InvalidUtf8)
      return { agg: acc.agg, rowsRead: acc.rowsRead, invalidUtf8: err.line, redo: false, taken: [] };
    throw err;
  }
  sink.finish(true);
  return { agg: acc.agg, rowsRead: acc.rowsRead, redo: false, taken: [] };
}

/**
 * Read a JSONL or CSV audit input into an aggregate. A file that is not UTF-8, or of which no
 * line is an audit row, is an input error naming the file: a summary of nothing would read as
 * "no damage".
 */
export async function scanText(
  format: TextFormat,
  input: TextInput,
  cols: ColumnMap,
  query: DamageQuery,
  opts: ScanOptions = {},
  signal?: AbortSignal,
): Promise<Aggregate> {
  const outcome =
    input.path === null
      ? await scanStream(format, input.open(), cols, query, signal)
      : await scanFile(format, input.path, cols, query, opts, signal);
  if (outcome.invalidUtf8 !== undefined) throw notUtf8(input.label, outcome.invalidUtf8);
  const bad = outcome.agg.bad_rows;
  if (outcome.rowsRead === 0 && bad.count > 0)
    throw usageError(
      `${input.label}: no line is a readable audit row (${bad.count} unreadable, first at line ${bad.first_lines.join(', ')})`,
      `check the format (--input-format) and the column names (--columns)`,
    );
  return outcome.agg;
}
