import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A command's overall deadline: the most it may spend waiting on the network, in total.
 * Idle timeouts alone never end a server that drips one byte every two seconds; this does.
 *
 * It is ambient (AsyncLocalStorage) rather than passed down, so that every HTTP call made while
 * the command runs obeys it: ours, the vendors' adapters and the damage sources alike, without
 * each of them having to remember to. Time spent waiting for the operator at a prompt does not
 * count (pause/resume), so the guided incident is not cut off while someone reads the plan.
 */
export class Deadline {
  private readonly ctrl = new AbortController();
  private spentMs = 0;
  private runningSince: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private pauses = 0;

  constructor(
    readonly budgetMs: number,
    /** Where the budget came from, for the message: `--deadline`, `deadline_ms`, the default. */
    readonly source: string,
  ) {
    this.start();
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  get expired(): boolean {
    return this.ctrl.signal.aborted;
  }

  remainingMs(): number {
    if (this.expired) return 0;
    const running = this.runningSince === null ? 0 : performance.now() - this.runningSince;
    return Math.max(0, this.budgetMs - this.spentMs - running);
  }

  /** Stop the clock (a prompt is waiting for a person). Nested pauses are counted. */
  pause(): void {
    if (this.pauses++ > 0 || this.runningSince === null) return;
    this.spentMs += performance.now() - this.runningSince;
    this.runningSince = null;
    clearTimeout(this.timer);
  }

  resume(): void {
    if (this.pauses === 0 || --this.pauses > 0) return;
    this.start();
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  describe(): string {
    return `the command's deadline of ${formatMs(this.budgetMs)} (${this.source})`;
  }

  private start(): void {
    if (this.expired) return;
    this.runningSince = performance.now();
    this.timer = setTimeout(() => this.ctrl.abort(new DeadlineExpired(this)), this.remainingMs());
    this.timer.unref();
  }
}

export class DeadlineExpired extends Error {
  constructor(readonly deadline: Deadline) {
    super(`${deadline.describe()} passed`);
    this.name = 'DeadlineExpired';
  }
}

const storage = new AsyncLocalStorage<Deadline>();

/** Run `fn` with `deadline` as the ambient deadline of every HTTP call it makes. */
export function withDeadline<T>(deadline: Deadline | undefined, fn: () => Promise<T>): Promise<T> {
  return deadline ? storage.run(deadline, fn) : fn();
}

export function currentDeadline(): Deadline | undefined {
  return storage.getStore();
}

/** Stop the ambient clock while `fn` waits for a person. */
export async function pausedDeadline<T>(fn: () => Promise<T>): Promise<T> {
  const d = currentDeadline();
  d?.pause();
  try {
    return await fn();
  } finally {
    d?.resume();
  }
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms)} ms`;
}

/** A sleep that ends early when the ambient deadline (or `signal`) fires. */
export function sleepWithin(ms: number, signal?: AbortSignal): Promise<void> {
  const d = currentDeadline();
  const wait = Math.max(0, Math.min(ms, d ? d.remainingMs() : ms));
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      d?.signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, wait);
    signal?.addEventListener('abort', done, { once: true });
    d?.signal.addEventListener('abort', done, { once: true });
  });
}
