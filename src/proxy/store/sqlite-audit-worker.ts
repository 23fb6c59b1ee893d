import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { AuditRow } from './types.js';
import { AUDIT_COLUMNS } from './sqlite-schema.js';

/**
 * Audit batches committed on a worker thread with their own connection, so the fsync of
 * synchronous=FULL never blocks the event loop: while one batch syncs, the data plane keeps
 * reading requests and the next batch gathers (group commit). The worker is inline CommonJS so
 * the bundle needs no extra entry file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = ' + workerData.sync);
db.pragma('busy_timeout = 10000');
const cols = workerData.columns;
const insert = db.prepare('INSERT INTO agent_call_audit (' + cols.join(', ') + ') VALUES (' + cols.map(() => '?').join(', ') + ')');
const write = db.transaction((rows) => { for (const r of rows) insert.run(r); });
parentPort.on('message', (msg) => {
  if (msg.close) { db.close(); parentPort.postMessage({ closed: true }); return; }
  try { write(msg.rows); parentPort.postMessage({ id: msg.id }); }
  catch (err) { parentPort.postMessage({ id: msg.id, error: String(err && err.message || err) }); }
});
`;

export class AuditWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private next = 1;
  private dead: Error | null = null;

  constructor(path: string, sync: 'FULL' | 'NORMAL') {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, sync, driver, columns: AUDIT_COLUMNS } });
    this.worker.on('message', (msg: { id?: number; error?: string }) => {
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(msg.error));
      else p?.resolve();
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('audit writer thread exited')));
  }

  append(rows: AuditRow[]): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    // Arrays in column order: cheaper to clone across threads and to bind than objects.
    const plain = rows.map((r) => AUDIT_COLUMNS.map((c) => r[c]));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows: plain });
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
      this.worker.postMessage({ close: true });
    });
    await this.worker.terminate();
  }
}
