import type { AuditRow, ProxyStore } from './store/types.js';

interface Pending {
  row: AuditRow;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit: rows queued during one turn of the event loop are written in one transaction,
 * and each request waits for its row's commit before it is answered. While one batch commits,
 * the next one gathers, so a slow fsync raises batch size rather than latency per row.
 */
export class AuditWriter {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private inBatch = 0;
  batches = 0;
  rows = 0;
  /** Told how long each batch took to commit (metrics). */
  onCommit: ((rows: number, ms: number) => void) | null = null;

  constructor(private readonly store: ProxyStore) {}

  /** Rows waiting for their commit (queued or in the batch being written). */
  get queued(): number {
    return this.queue.length + this.inBatch;
  }

  /** Resolves once the row is durable. */
  write(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inBatch = batch.length;
    this.flushing = (async () => {
      try {
        const t0 = performance.now();
        await this.store.appendAudit(batch.map((p) => p.row));
        this.onCommit?.(batch.length, performance.now() - t0);
        this.batches++;
        this.rows += batch.length;
        for (const p of batch) p.resolve();
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    })();
    await this.flushing;
    this.flushing = null;
    this.inBatch = 0;
    if (this.queue.length) this.schedule();
  }

  /** Wait until everything queued so far is durable (graceful shutdown). */
  async drain(): Promise<void> {
    while (this.queue.length || this.flushing || this.scheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise((r) => setImmediate(r));
      if (!this.flushing && !this.scheduled && this.queue.length) await this.flush();
    }
  }
}
