import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import type { SqlStatement } from './sql.js';

/**
 * The breakdowns are independent full scans; on a big file, two read-only connections on two
 * threads run them side by side (SQLite allows any number of readers). Inline CommonJS worker,
 * as the proxy's audit writer does, so the bundle needs no extra entry file.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { readonly: true, fileMustExist: true });
db.pragma('query_only = true');
parentPort.on('message', (msg) => {
  if (msg.close) { db.close(); process.exit(0); }
  try { parentPort.postMessage({ rows: db.prepare(msg.sql).all(...msg.params) }); }
  catch (err) { parentPort.postMessage({ error: String((err && err.message) || err) }); }
});
`;

export const LANES = 2;

function lane(path: string, driver: string, queue: SqlStatement[], results: Map<string, unknown[]>): Promise<void> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, driver } });
  return new Promise<void>((resolve, reject) => {
    let current: SqlStatement | undefined;
    const next = () => {
      current = queue.shift();
      if (current) worker.postMessage({ sql: current.sql, params: current.params });
      else worker.postMessage({ close: true });
    };
    worker.on('message', (msg: { rows?: unknown[]; error?: string }) => {
      if (msg.error !== undefined) {
        reject(new Error(msg.error));
        void worker.terminate();
        return;
      }
      results.set(current!.name, msg.rows!);
      next();
    });
    worker.on('error', reject);
    worker.on('exit', () => resolve());
    next();
  });
}

/** Run every statement on LANES worker threads, each taking the next statement when free. */
export async function runInLanes(
  path: string,
  statements: readonly SqlStatement[],
): Promise<Map<SqlStatement['name'], unknown[]>> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const queue = [...statements];
  const results = new Map<string, unknown[]>();
  await Promise.all(
    Array.from({ length: Math.min(LANES, statements.length) }, () => lane(path, driver, queue, results)),
  );
  return results as Map<SqlStatement['name'], unknown[]>;
}
