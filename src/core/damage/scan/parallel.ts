import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { Aggregate } from '../types.js';
import { emptyAggregate } from '../accumulate.js';
import { Lane, type LaneResult, type ScanSpec, type Stretch, type StretchResult } from './lane.js';
import { appendBadRows, mergeAggregate } from './merge.js';

/**
 * A file read on several threads: cut into line-aligned stretches, each thread (this one
 * included) reading one and then taking the next from a shared counter until none is left, then the partial
 * aggregates added up. Every figure is a count or an integer sum, so the result is the same as
 * one thread reading the file from start to end; line numbers are put back in file order.
 */

const TAG = 'tourniquetDamageLane';

interface WorkerInput {
  [TAG]: true;
  /** This lane's number: its first stretch (so a worker that starts late still takes one). */
  lane: number;
  spec: ScanSpec;
  stretches: Stretch[];
  counter: SharedArrayBuffer;
}

type WorkerOutput = { ok: LaneResult } | { error: string };

// This module is also the worker's entry: started with the data above, it runs a lane and posts
// what it found. Same file, so the bundle needs no extra entry point.
if (!isMainThread && (workerData as WorkerInput | undefined)?.[TAG]) runWorker(workerData as WorkerInput);

/** Lane n reads stretch n first, then whichever the shared counter gives it next. */
function claimer(lane: number, stretches: Stretch[], counter: SharedArrayBuffer): () => Stretch | undefined {
  const shared = new Int32Array(counter);
  let first = true;
  return () => {
    if (!first) return stretches[Atomics.add(shared, 0, 1)];
    first = false;
    return stretches[lane];
  };
}

function runWorker(input: WorkerInput): void {
  let out: WorkerOutput;
  let lane: Lane | undefined;
  try {
    lane = new Lane(input.spec);
    out = { ok: lane.scanAll(claimer(input.lane, input.stretches, input.counter)) };
  } catch (err) {
    out = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    lane?.close();
  }
  parentPort!.postMessage(out);
}

/** Workers run this module's built file; from TypeScript sources (the test runner) there is none to run. */
export const workersAvailable = (): boolean => /\.m?js$/.test(new URL(import.meta.url).pathname);

function startWorker(input: WorkerInput): { done: Promise<LaneResult>; stop(): void } {
  const worker = new Worker(new URL(import.meta.url), { workerData: input });
  const done = new Promise<LaneResult>((resolve, reject) => {
    worker.once('message', (msg: WorkerOutput) => ('ok' in msg ? resolve(msg.ok) : reject(new Error(msg.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`damage worker exited with code ${code}`)));
  });
  return { done, stop: () => void worker.terminate() };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** This thread's lane: a read at a time, letting the event loop run (signals, workers' messages) between reads. */
async function mainLane(spec: ScanSpec, next: () => Stretch | undefined, signals: AbortSignal[]): Promise<LaneResult> {
  const lane = new Lane(spec);
  try {
    for (let s = next(); s; s = next()) {
      for (const _ of lane.scan(s)) {
        await tick();
        for (const signal of signals) if (signal.aborted) throw signal.reason;
      }
    }
    return lane.result();
  } finally {
    lane.close();
  }
}

export interface LanesOutcome {
  agg: Aggregate;
  rowsRead: number;
  /** The first line (file numbering) that is not UTF-8. */
  invalidUtf8?: number;
  /**
   * Read it again in one stretch: a CSV record spanned two stretches (so they did not start at
   * records), or a worker thread failed (its stretch is lost).
   */
  redo: boolean;
  /** Stretches each thread read: this one first, then each worker. */
  taken: number[];
}

/** Put the lanes' results together in file order. `linesBefore`: lines before the first stretch (a CSV header). */
export function combineLanes(results: LaneResult[], withRevoke: boolean, linesBefore: number): LanesOutcome {
  const agg = emptyAggregate(withRevoke);
  let rowsRead = 0;
  for (const r of results) {
    mergeAggregate(agg, r.agg);
    rowsRead += r.rowsRead;
  }
  const taken = results.map((r) => r.stretches.length);
  const stretches: StretchResult[] = results.flatMap((r) => r.stretches).sort((a, b) => a.index - b.index);
  let lines = linesBefore;
  for (const s of stretches) {
    if (s.invalidUtf8 !== undefined) return { agg, rowsRead, invalidUtf8: lines + s.invalidUtf8, redo: false, taken };
    if (s.open) return { agg, rowsRead, redo: true, taken };
    appendBadRows(agg.bad_rows, s.bad, lines);
    lines += s.lines;
  }
  return { agg, rowsRead, redo: false, taken };
}

/** Scan the stretches on `threads` threads (this one and threads − 1 workers, when they can run). */
export async function scanInLanes(
  spec: ScanSpec,
  stretches: Stretch[],
  threads: number,
  linesBefore: number,
  signal?: AbortSignal,
): Promise<LanesOutcome> {
  const helpers = workersAvailable() ? Math.max(0, Math.min(threads - 1, stretches.length - 1)) : 0;
  const counter = new SharedArrayBuffer(4);
  new Int32Array(counter)[0] = helpers + 1; // stretches 0..helpers are each lane's first
  const workers = Array.from({ length: helpers }, (_, i) =>
    startWorker({ [TAG]: true, lane: i + 1, spec, stretches, counter }),
  );
  const next = claimer(0, stretches, counter);
  const workerFailed = new AbortController();
  const withRevoke = spec.query.revoked_at !== undefined;
  const watched = workers.map((w) => w.done.catch((err: unknown) => (workerFailed.abort(err), null)));
  try {
    const main = await mainLane(spec, next, signal ? [signal, workerFailed.signal] : [workerFailed.signal]).catch(
      (err: unknown) => {
        if (workerFailed.signal.aborted && err === workerFailed.signal.reason) return null;
        throw err;
      },
    );
    const results = await Promise.all(watched);
    if (main === null || results.includes(null))
      return { agg: emptyAggregate(withRevoke), rowsRead: 0, redo: true, taken: [] };
    return combineLanes([main, ...(results as LaneResult[])], withRevoke, linesBefore);
  } finally {
    for (const w of workers) w.stop();
  }
}
