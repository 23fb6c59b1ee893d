import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import { StoreUnavailableError, type StoreFailure } from './types.js';
import { syncAnswer } from './sync-answer.js';
import { fieldOf, scalarText } from '../../core/json.js';

/**
 * Every write to the SQLite file goes through one writer: a transaction of steps, each a
 * statement (by index into `sqls`), how to run it, and its positional parameters.
 * - `run`: the number of rows changed; `get`: the first row; `all`: every row.
 */
export type Step = [statement: number, mode: 'run' | 'get' | 'all', params: unknown[]];
export interface WriteTx {
  sqls: string[];
  steps: Step[];
  /** FULL: fsynced at commit (key changes always); NORMAL: in the WAL, fsynced by the next FULL commit or checkpoint. */
  sync: 'FULL' | 'NORMAL';
}

/** How long a write may wait for a lock another process holds before it fails (SQLITE_BUSY). */
export const BUSY_TIMEOUT_MS = 1_000;
/** The WAL is truncated to this after a checkpoint, so a burst never keeps its disk space. */
export const WAL_LIMIT_BYTES = 4 * 1024 * 1024;
/** How often the checkpointer thread copies committed WAL frames into the database file. */
export const CHECKPOINT_EVERY_MS = 20;

/**
 * The writer runs on a worker thread with its own connection: a file another process holds
 * write-locked makes that thread wait (up to BUSY_TIMEOUT_MS), never the event loop, so the
 * data plane, refusals and the admin API keep answering. An fsync (synchronous=FULL) waits
 * there too. On SQLITE_FULL it checkpoints the WAL into the database and truncates it, which
 * gives the WAL's space back, so a write after space is freed finds room. Inline CommonJS so
 * the bundle needs no extra entry file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyMs });
db.pragma('journal_mode = WAL');
let sync = 'FULL';
db.pragma('synchronous = FULL');
db.pragma('journal_size_limit = ' + workerData.walLimit);
db.pragma('secure_delete = ON'); // overwritten and deleted content is zeroed: no old copy of a sealed key's row lingers
const cache = new Map();
const prep = (sql) => { let s = cache.get(sql); if (!s) cache.set(sql, (s = db.prepare(sql))); return s; };
const exec = db.transaction((sqls, steps) => steps.map(([i, mode, params]) => {
  const s = prep(sqls[i]);
  return mode === 'all' ? s.all(params) : mode === 'get' ? s.get(params) : s.run(params).changes;
}));
parentPort.on('message', (m) => {
  if (m.close) { try { db.close(); } catch {} parentPort.postMessage({ closed: true }); return; }
  if (m.deadline && Date.now() > m.deadline) return parentPort.postMessage({ id: m.id, error: { code: 'TQ_EXPIRED', message: 'the write waited past its deadline and was not run' } });
  try {
    if (m.sync !== sync) { db.pragma('synchronous = ' + m.sync); sync = m.sync; }
    parentPort.postMessage({ id: m.id, results: exec.immediate(m.sqls, m.steps) });
  }
  catch (err) {
    if (err && err.code === 'SQLITE_FULL') { try { db.pragma('wal_checkpoint(TRUNCATE)'); } catch {} }
    parentPort.postMessage({ id: m.id, error: { code: String(err && err.code || ''), message: String(err && err.message || err) } });
  }
});
`;

/**
 * The checkpointer: its own thread and connection, copying committed WAL frames into the
 * database file between the writer's commits (PASSIVE: it never waits for the writer and never
 * blocks it). Without it, the commit that fills the WAL (every 1,000 pages, a fraction of a
 * second under load) also copies every page back and fsyncs the database file, and every call
 * waiting on that batch waits for all of it. With it, that commit finds the copying already
 * done. A failure here (locked, disk full) is left to the writer, which reports its own.
 */
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: 0 });
const timer = setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.everyMs);
parentPort.on('message', (m) => {
  if (m.close) { clearInterval(timer); try { db.close(); } catch {} parentPort.postMessage({ closed: true }); }
});
`;

const FAILURES: Array<[RegExp, StoreFailure]> = [
  [/^(SQLITE_FULL|ENOSPC|EDQUOT)/, 'disk_full'],
  [/^(SQLITE_BUSY|SQLITE_LOCKED)/, 'busy'],
  [/^TQ_EXPIRED/, 'timeout'],
  [
    /^(SQLITE_IOERR|SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_CORRUPT|SQLITE_NOTADB|SQLITE_PROTOCOL|SQLITE_PERM|EIO|EROFS|EACCES)/,
    'unavailable',
  ],
];

/** SQLite reports some full-disk failures as I/O errors (growing the -shm file, say): look at the volume. */
function volumeFull(path: string): boolean {
  try {
    const s = statfsSync(dirname(path));
    return s.bavail * s.bsize < 256 * 1024;
  } catch {
    return false;
  }
}

/** An I/O failure of the file as StoreUnavailableError (with why); anything else is returned as is. */
export function classifySqlite(err: unknown, path: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const code = scalarText(fieldOf(err, 'code')) ?? '';
  for (const [re, found] of FAILURES)
    if (re.test(code)) {
      const reason =
        found === 'unavailable' && /^SQLITE_IOERR/.test(code) && path !== ':memory:' && volumeFull(path)
          ? 'disk_full'
          : found;
      const what =
        reason === 'disk_full'
          ? `the disk holding ${path} is full`
          : reason === 'busy'
            ? `${path} is locked by another process`
            : `${path} cannot be written`;
      return new StoreUnavailableError(`SQLite store: ${what} (${code}: ${(err as Error).message})`, {
        cause: err,
        reason,
      });
    }
  return err;
}

export interface SqliteWriter {
  write(tx: WriteTx, deadlineMs: number): Promise<unknown[]>;
  close(): Promise<void>;
}

/** The worker-thread writer for a file, with its checkpointer thread. */
export class ThreadWriter implements SqliteWriter {
  private readonly worker: Worker;
  private readonly checkpointer: Worker;
  private checkpointerGone = false;
  private readonly pending = new Map<
    number,
    { resolve: (r: unknown[]) => void; reject: (e: unknown) => void; timer: NodeJS.Timeout }
  >();
  private next = 1;
  private dead: Error | null = null;

  constructor(private readonly path: string) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, driver, busyMs: BUSY_TIMEOUT_MS, walLimit: WAL_LIMIT_BYTES },
    });
    this.worker.unref();
    this.checkpointer = new Worker(CHECKPOINTER_SOURCE, {
      eval: true,
      workerData: { path, driver, everyMs: CHECKPOINT_EVERY_MS },
    });
    this.checkpointer.unref();
    // Only speed depends on it: the writer checkpoints by itself too.
    this.checkpointer.on('error', () => {});
    this.checkpointer.on('exit', () => (this.checkpointerGone = true));
    this.worker.on(
      'message',
      (msg: { id?: number; results?: unknown[]; error?: { code: string; message: string } }) => {
        const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
        if (!p) return; // answered after its deadline: the caller has moved on
        this.pending.delete(msg.id!);
        clearTimeout(p.timer);
        if (msg.error)
          p.reject(classifySqlite(Object.assign(new Error(msg.error.message), { code: msg.error.code }), this.path));
        else p.resolve(msg.results!);
      },
    );
    const fail = (err: Error) => {
      this.dead = new StoreUnavailableError(`SQLite writer thread stopped: ${err.message}`, { cause: err });
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(this.dead);
      }
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('exited')));
  }

  write(tx: WriteTx, deadlineMs: number): Promise<unknown[]> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new StoreUnavailableError(`SQLite store: no answer within ${deadlineMs} ms (${this.path} locked or slow)`, {
            reason: 'timeout',
          }),
        );
      }, deadlineMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ id, deadline: Date.now() + deadlineMs, ...tx });
    });
  }

  async close(): Promise<void> {
    const stop = async (w: Worker) => {
      await new Promise<void>((resolve) => {
        w.once('message', () => resolve());
        w.once('exit', () => resolve());
        w.postMessage({ close: true });
      });
      await w.terminate();
    };
    if (!this.checkpointerGone) await stop(this.checkpointer);
    if (!this.dead) await stop(this.worker);
  }
}

/** `:memory:` cannot be shared with a thread: write on the caller's connection. */
export class InlineWriter implements SqliteWriter {
  private readonly cache = new Map<string, Database.Statement>();
  private readonly exec: (tx: WriteTx) => unknown[];

  constructor(private readonly db: Database.Database) {
    const prep = (sql: string) => this.cache.get(sql) ?? this.cache.set(sql, db.prepare(sql)).get(sql)!;
    const t = db.transaction((tx: WriteTx) =>
      tx.steps.map(([i, mode, params]) => {
        const s = prep(tx.sqls[i]!);
        return mode === 'all' ? s.all(params) : mode === 'get' ? s.get(params) : s.run(params).changes;
      }),
    );
    this.exec = (tx) => t.immediate(tx);
  }

  write(tx: WriteTx): Promise<unknown[]> {
    return syncAnswer(() => {
      try {
        return this.exec(tx);
      } catch (err) {
        throw classifySqlite(err, ':memory:');
      }
    });
  }

  async close(): Promise<void> {}
}

/** Build a transaction step by step; statements are shared by text. */
export class TxBuilder {
  readonly sqls: string[] = [];
  readonly steps: Step[] = [];
  private readonly index = new Map<string, number>();

  add(sql: string, params: unknown[] = [], mode: Step[1] = 'run'): number {
    let i = this.index.get(sql);
    if (i === undefined) this.index.set(sql, (i = this.sqls.push(sql) - 1));
    return this.steps.push([i, mode, params]) - 1;
  }

  tx(sync: WriteTx['sync'] = 'FULL'): WriteTx {
    return { sqls: this.sqls, steps: this.steps, sync };
  }
}
