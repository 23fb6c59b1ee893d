import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import {
  TourniquetError,
  EXIT_CODES,
  cancelled,
  isTourniquetError,
  usageError,
  type ErrorKind,
} from '../core/errors.js';
import type { RequestLog } from './log.js';
import { scalarText } from '../core/json.js';

/**
 * `proxy serve --workers N`: N node:cluster worker processes, each a full proxy instance on the
 * shared store (its own instance id, registry row, revoke acknowledgements, audit sweep), all
 * taking connections on the same `--listen`/`--admin-listen` ports. The primary opens no store:
 * it starts the workers, restarts one that dies, stops them all on SIGTERM/SIGINT and passes
 * SIGHUP on. Worker and primary talk over the cluster's IPC channel (never argv, never a file).
 */

/** A worker's own addresses, as the registry lists them. */
export interface WorkerInfo {
  instance_id: string;
  pid: number;
  data_plane_url: string;
  admin_url: string;
}

/** What a worker tells the primary. */
export type WorkerMessage =
  | { tq: 'ready'; worker: WorkerInfo; shared: { data: string; admin: string } }
  | { tq: 'failed'; kind: ErrorKind | 'bug'; message: string; hint?: string };

/** What the primary tells a worker. */
type PrimaryMessage = { tq: 'stop' };

/** Set in a worker's environment by the primary: this process is worker N of a `proxy serve --workers`. */
export const WORKER_ENV = 'TOURNIQUET_PROXY_WORKER';

/** At most this many workers per CPU: past it they only compete for the same cores. */
const PER_CPU = 2;

/** `--workers`: a whole number from 1 to twice the CPU count. */
export function parseWorkerCount(value: unknown, cpus = availableParallelism()): number {
  const text = value === undefined ? '1' : (scalarText(value) ?? '');
  const n = Number(text);
  const max = cpus * PER_CPU;
  if (!/^\d+$/.test(text) || !Number.isInteger(n) || n < 1)
    throw usageError(`--workers must be a whole number of at least 1, not "${text}"`);
  if (n > max)
    throw usageError(
      `--workers ${n} is more than twice this machine's ${cpus} CPU(s)`,
      `use at most --workers ${max}; past that, workers only compete for the same cores`,
    );
  return n;
}

/** This process is a worker started by `proxy serve --workers`. */
export const isProxyWorker = (env: Record<string, string | undefined>): boolean =>
  cluster.isWorker && env[WORKER_ENV] === '1';

/** The worker's side of the channel. */
export const workerChannel = {
  ready(worker: WorkerInfo, shared: { data: string; admin: string }): Promise<void> {
    return send({ tq: 'ready', worker, shared });
  },
  /** Tell the primary why this worker could not start (the primary reports it, once); resolves to the exit code once sent. */
  async failed(err: unknown): Promise<number> {
    const t = isTourniquetError(err) ? err : null;
    await send({
      tq: 'failed',
      kind: t?.kind ?? 'bug',
      message: t?.message ?? (err instanceof Error ? err.message : String(err)),
      hint: t?.hint,
    });
    return t?.exitCode ?? EXIT_CODES.bug;
  },
  /** Calls `fn` when the primary asks this worker to stop (a graceful stop, as SIGTERM does). */
  onStop(fn: () => void): () => void {
    const listener = (m: unknown) => (m as PrimaryMessage | null)?.tq === 'stop' && fn();
    process.on('message', listener);
    return () => void process.off('message', listener);
  },
};

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

export interface SupervisorOptions {
  count: number;
  log: RequestLog;
  /** Crash loop: this many unexpected exits within `windowMs` stop everything (default 5 in 30 s). */
  maxExits?: number;
  windowMs?: number;
  /** How long a stop waits for workers to drain before killing them (default 4.5 s: inside bin's 5 s). */
  stopMs?: number;
  /** Aborted while the workers start (SIGINT/SIGTERM): stop them and reject as cancelled. */
  signal?: AbortSignal;
}

export interface StartedWorkers {
  /** The shared data-plane and admin URLs, and each worker's own. */
  dataUrl: string;
  adminUrl: string;
  workers: WorkerInfo[];
  /** Settles when the workers cannot go on (a crash loop, a replacement with a configuration error). */
  failed: Promise<never>;
  /** SIGHUP to every worker (each re-reads its token file and master key source). */
  reload(): void;
  /** Graceful stop of every worker; resolves false when one had to be killed or did not exit 0. */
  stop(): Promise<boolean>;
}

interface Slot {
  worker: Worker;
  info?: WorkerInfo;
  /** Started to replace one that died (its start-up failure is judged by kind, not fatal at once). */
  replacement: boolean;
  /** A reload was asked for while it started: it gets its SIGHUP once it is ready. */
  reloadOwed?: boolean;
}

/**
 * SIGHUP to a worker that is ready (it listens for it from then on). One still starting would meet
 * SIGHUP's default action and exit: it gets the signal once it says it is ready, in case the files
 * changed after it read them.
 */
function reloadWorker(s: Slot): void {
  if (s.worker.isDead()) return;
  if (s.info) s.worker.process.kill('SIGHUP');
  else s.reloadOwed = true;
}

const BACKOFF_MS = [100, 250, 500, 1_000, 2_000];

/** Errors a worker cannot recover from by starting again: the operator must change something. */
const CONFIG_KINDS = new Set<string>(['usage', 'auth', 'not-found']);

function remoteError(m: Extract<WorkerMessage, { tq: 'failed' }>): Error {
  return m.kind === 'bug' ? new Error(m.message) : new TourniquetError(m.kind, m.message, { hint: m.hint });
}

/**
 * Start `count` workers and resolve when every one is listening. A worker that fails to start
 * stops the others and rejects with its error (its kind decides the exit code), once.
 */
export function startWorkers(o: SupervisorOptions): Promise<StartedWorkers> {
  const maxExits = o.maxExits ?? 5;
  const windowMs = o.windowMs ?? 30_000;
  const slots = new Set<Slot>();
  const exits: number[] = [];
  let stopping = false;
  let shared = { data: '', admin: '' };
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => {});

  const killAll = async (graceMs: number): Promise<boolean> => {
    stopping = true;
    const all = [...slots].map((s) => s.worker);
    const exited = all.map(
      (w) =>
        new Promise<boolean>((resolve) => {
          if (w.isDead()) return resolve(w.process.exitCode === 0);
          w.process.once('exit', (code) => resolve(code === 0));
        }),
    );
    for (const w of all) if (!w.isDead() && w.isConnected()) w.send({ tq: 'stop' } satisfies PrimaryMessage);
    const timer = setTimeout(() => {
      for (const w of all)
        if (!w.isDead()) {
          o.log.error(`worker ${w.process.pid} did not stop within ${graceMs} ms; killed`);
          w.process.kill('SIGKILL');
        }
    }, graceMs);
    const clean = await Promise.all(exited);
    clearTimeout(timer);
    return clean.every(Boolean);
  };

  const fork = (replacement: boolean): Slot => {
    // A replacement listens on the same specs as the first workers: node:cluster keys its shared
    // handles by them (a `:0` held by a live worker stays the same port).
    const worker = cluster.fork({ [WORKER_ENV]: '1' });
    const slot: Slot = { worker, replacement };
    slots.add(slot);
    worker.on('message', (m: WorkerMessage) => {
      if (m?.tq === 'ready') {
        slot.info = m.worker;
        if (!shared.data) shared = m.shared;
        if (replacement) o.log.info('worker started', { ...m.worker });
        if (slot.reloadOwed) {
          slot.reloadOwed = false;
          reloadWorker(slot);
        }
        onReady();
      } else if (m?.tq === 'failed') onStartFailure(slot, m);
    });
    worker.on('exit', (code, signal) => onExit(slot, code, signal));
    return slot;
  };

  let startFailure: Extract<WorkerMessage, { tq: 'failed' }> | null = null;
  const onStartFailure = (slot: Slot, m: Extract<WorkerMessage, { tq: 'failed' }>) => {
    if (stopping) return;
    if (slot.replacement && !CONFIG_KINDS.has(m.kind)) {
      // A replacement that could not start (the store away for a moment): its exit counts towards a crash loop.
      o.log.error(`a replacement worker could not start: ${m.message}`);
      return;
    }
    startFailure = m;
    void killAll(o.stopMs ?? 4_500).then(() => fail(remoteError(m)));
  };

  const onExit = (slot: Slot, code: number | null, signal: string | null) => {
    slots.delete(slot);
    if (stopping) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (!slot.info && !slot.replacement) {
      // A first worker gone before it was ready: its reason may still be on the way (IPC vs exit).
      setTimeout(() => {
        if (startFailure || stopping) return;
        onStartFailure(slot, { tq: 'failed', kind: 'step-failed', message: `a worker exited while starting (${how})` });
      }, 200);
      return;
    }
    const now = Date.now();
    exits.push(now);
    while (exits.length && exits[0]! < now - windowMs) exits.shift();
    const who = slot.info?.instance_id ?? `pid ${slot.worker.process.pid}`;
    if (exits.length >= maxExits) {
      const reason = `workers are crash-looping: ${exits.length} exits within ${windowMs / 1000} s (last: ${who}, ${how})`;
      void killAll(o.stopMs ?? 4_500).then(() =>
        fail(
          new TourniquetError('step-failed', reason, {
            hint: 'read the workers’ errors above (stderr), fix the cause, then start the proxy again',
          }),
        ),
      );
      return;
    }
    const delay = BACKOFF_MS[Math.min(exits.length - 1, BACKOFF_MS.length - 1)]!;
    o.log.error(`worker ${who} exited (${how}); starting a new one in ${delay} ms`);
    setTimeout(() => !stopping && fork(true), delay);
  };

  let onReady = () => {};
  const started = new Promise<StartedWorkers>((resolve, reject) => {
    failed.catch(reject);
    onReady = () => {
      const ready = [...slots].filter((s) => s.info);
      if (startFailure || stopping || ready.length < o.count) return;
      onReady = () => {};
      resolve({
        dataUrl: shared.data,
        adminUrl: shared.admin,
        workers: ready.map((s) => s.info!),
        failed,
        reload: () => {
          for (const s of slots) reloadWorker(s);
        },
        stop: () => killAll(o.stopMs ?? 4_500),
      });
    };
  });
  const onAbort = () => {
    if (stopping) return;
    void killAll(o.stopMs ?? 4_500).then(() => fail(cancelled()));
  };
  o.signal?.addEventListener('abort', onAbort, { once: true });
  void started.then(
    () => o.signal?.removeEventListener('abort', onAbort),
    () => {},
  );
  for (let i = 0; i < o.count; i++) fork(false);
  return started;
}
