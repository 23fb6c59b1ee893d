import type { AuditOutcome, AuditRow, ProxyStore } from './store/types.js';
import { StoreUnavailableError } from './store/types.js';

interface Intent {
  row: AuditRow;
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
  /** When it is refused if not yet durable (performance.now() time). */
  due: number;
}

export interface AuditWriterOptions {
  /** How long a call waits for its intent row before it is refused (default 2 s). */
  intentDeadlineMs?: number;
  /** Refusal rows and outcomes kept for retry while the store fails; beyond it they are dropped and counted (default 100,000). */
  maxBacklog?: number;
  onError?: (msg: string, err: unknown) => void;
}

const sleepFor = (attempt: number) => Math.min(50 * 2 ** attempt, 1_000);
const MAX_IN_FLIGHT = 2;

/**
 * Write-ahead audit with group commit. Three kinds of write go into one transaction per batch:
 * - intents: the row of a call about to be forwarded; the call waits until it is durable and is
 *   refused (never forwarded) if it cannot be;
 * - refusals: complete rows of calls that never reached a vendor; nobody waits for them;
 * - outcomes: what completes an intent once the vendor answered; nobody waits for them either.
 * A batch goes to the store on the next turn of the event loop, never on a timer, and up to
 * two batches are in the store's hands at once: while one commits, the next is already queued
 * behind it, so the writer goes from one commit straight to the next without waiting for this
 * thread to hear back; what arrives meanwhile gathers into the batch after. A slow fsync raises
 * batch size, not latency per call. The store runs batches in the order they were handed over.
 * When a batch fails its intents are refused; refusals and outcomes stay queued (bounded) and
 * go with a later batch, retried with backoff until the store is back.
 */
export class AuditWriter {
  private intents: Intent[] = [];
  /**
   * Every intent not yet settled, oldest first (all share one deadline length, so this is
   * deadline order too), from `head` on. One timer watches the oldest: a timer per call costs
   * more than the rest of the hand-off.
   */
  private waiting: Array<Intent | undefined> = [];
  private head = 0;
  private deadline: NodeJS.Timeout | null = null;
  private rowsLater: AuditRow[] = [];
  private outcomes: AuditOutcome[] = [];
  /** Batches handed to the store and not yet answered (at most MAX_IN_FLIGHT). */
  private readonly inFlight = new Set<Promise<void>>();
  private scheduled = false;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  batches = 0;
  rows = 0;
  /** Refusal rows and outcomes dropped because the store stayed down past the backlog. */
  dropped = 0;
  /** Told how long each batch took to commit (metrics). */
  onCommit: ((ms: number) => void) | null = null;

  constructor(
    private readonly store: ProxyStore,
    private readonly opts: AuditWriterOptions = {},
  ) {}

  /** Resolves once the intent row is durable; rejects (StoreUnavailableError) when it cannot be, within the deadline. */
  intent(row: AuditRow): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry: Intent = { row, settled: false, resolve, reject, due: performance.now() + this.deadlineMs() };
      this.intents.push(entry);
      this.waiting.push(entry);
      this.watchDeadline();
      this.schedule();
    });
  }

  private deadlineMs(): number {
    return this.opts.intentDeadlineMs ?? 2_000;
  }

  /** Forget settled intents at the front of the line (they settle in order, batch by batch). */
  private dropSettled(): void {
    const w = this.waiting;
    while (this.head < w.length && w[this.head]!.settled) w[this.head++] = undefined;
    if (this.head === w.length) {
      this.waiting = [];
      this.head = 0;
      // Nothing left to watch: a timer left armed would hold the process open for up to a deadline.
      if (this.deadline) clearTimeout(this.deadline);
      this.deadline = null;
    } else if (this.head > 1024 && this.head * 2 > w.length) {
      this.waiting = w.slice(this.head);
      this.head = 0;
    }
  }

  /** Arm the one deadline timer for the oldest intent still waiting, if it is not armed. */
  private watchDeadline(): void {
    if (this.deadline) return;
    this.dropSettled();
    const oldest = this.waiting[this.head];
    if (!oldest) return;
    this.deadline = setTimeout(
      () => {
        this.deadline = null;
        this.expire();
      },
      Math.max(0, oldest.due - performance.now()),
    );
  }

  /** Refuse every intent past its deadline (never forwarded), then watch the next. */
  private expire(): void {
    const now = performance.now();
    const ms = this.deadlineMs();
    for (let i = this.head; i < this.waiting.length; i++) {
      const e = this.waiting[i]!;
      if (e.settled) continue;
      if (e.due > now) break;
      this.settle(e, new StoreUnavailableError(`the audit row was not durable within ${ms} ms`, { reason: 'timeout' }));
    }
    this.watchDeadline();
  }

  /** A refusal: recorded without making anyone wait. */
  record(row: AuditRow): void {
    if (this.backlog() >= (this.opts.maxBacklog ?? 100_000)) return void this.dropped++;
    this.rowsLater.push(row);
    this.schedule();
  }

  /** The outcome of a forwarded call: completes its intent row; nobody waits. */
  complete(outcome: AuditOutcome): void {
    if (this.backlog() >= (this.opts.maxBacklog ?? 100_000)) return void this.dropped++;
    this.outcomes.push(outcome);
    this.schedule();
  }

  /** Rows and outcomes waiting to be written. */
  backlog(): number {
    return this.intents.length + this.rowsLater.length + this.outcomes.length;
  }

  private settle(e: Intent, err?: unknown): void {
    if (e.settled) return;
    e.settled = true;
    if (err === undefined) return e.resolve();
    // Refused, not forwarded. The row may still commit (a late answer): then say so on it.
    this.outcomes.push({
      call_id: e.row.call_id!,
      finished_at: new Date().toISOString(),
      policy_verdict: 'store_unavailable',
      vendor_status: 0,
      cost_usd_parsed: null,
      latency_ms: e.row.latency_ms,
    });
    this.schedule();
    e.reject(err);
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight.size >= MAX_IN_FLIGHT || this.retry) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.inFlight.size >= MAX_IN_FLIGHT || this.retry || this.backlog() === 0) return;
    const intents = this.intents.filter((e) => !e.settled);
    const later = this.rowsLater;
    const outcomes = this.outcomes;
    this.intents = [];
    this.rowsLater = [];
    this.outcomes = [];
    const batch = this.commit(intents, later, outcomes);
    this.inFlight.add(batch);
    await batch;
    this.inFlight.delete(batch);
    if (this.backlog()) this.schedule();
  }

  private async commit(intents: Intent[], later: AuditRow[], outcomes: AuditOutcome[]): Promise<void> {
    try {
      const t0 = performance.now();
      await this.store.appendAudit([...intents.map((e) => e.row), ...later], outcomes);
      this.onCommit?.(performance.now() - t0);
      this.batches++;
      this.rows += intents.length + later.length;
      this.failures = 0;
      for (const e of intents) this.settle(e);
      this.dropSettled();
    } catch (err) {
      if (this.failures++ === 0)
        this.opts.onError?.('audit write failed; calls are refused until the store is back', err);
      for (const e of intents)
        this.settle(
          e,
          err instanceof StoreUnavailableError
            ? err
            : new StoreUnavailableError(String((err as Error)?.message ?? err), { cause: err }),
        );
      this.dropSettled();
      // What nobody waits for is kept (oldest first) and tried again after a pause.
      this.rowsLater = [...later, ...this.rowsLater];
      this.outcomes = [...outcomes, ...this.outcomes];
      if (!this.retry) {
        this.retry = setTimeout(() => {
          this.retry = null;
          this.schedule();
        }, sleepFor(this.failures));
        this.retry.unref();
      }
    }
  }

  /** Wait until everything queued so far is written, or `timeoutMs` has passed (graceful shutdown). */
  async drain(timeoutMs = 5_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.backlog() || this.inFlight.size || this.scheduled) {
      if (Date.now() > end) return false;
      if (this.inFlight.size) await Promise.race(this.inFlight);
      else if (this.retry) await new Promise((r) => setTimeout(r, 20));
      else await this.flush();
    }
    return true;
  }
}
