import type { AckingStore, ChangeSet, InstanceInfo, ProxyStore } from '../store/types.js';
import type { RevokeHint } from '../store/postgres-listen.js';
import type { PolicyState } from '../state.js';
import type { RequestLog } from '../log.js';
import { AckBook, type FleetConfirmation } from './confirm.js';

export interface FleetOptions {
  /** Poll the store's revision this often, so a lost notification costs at most this (default 250 ms). */
  reconcileMs?: number;
  /** Refuse agent traffic (503 store_unavailable) once the last good sync is older than this (default 750 ms). */
  maxStalenessMs?: number;
  /** Write this instance's registry row this often (default 1 s). */
  heartbeatMs?: number;
  /**
   * An event loop that did not turn for this long (SIGSTOP, a VM pause, a long GC) may have
   * missed a revoke: nothing is decided until a sync started after it succeeds. Default 250 ms,
   * the revoke's confirmation wait: a shorter stall cannot let a DELETE return without this
   * instance's acknowledgement, and a busy machine's ordinary lag does not count as a pause.
   */
  stallMs?: number;
  /** How long a revoke waits for every live instance to confirm it refuses the key (default 250 ms; 0: no wait). */
  confirmMs?: number;
}

export const FLEET_DEFAULTS = {
  reconcileMs: 250,
  maxStalenessMs: 750,
  heartbeatMs: 1_000,
  stallMs: 250,
  confirmMs: 250,
} as const;
/** How often the stall detector looks at the clock. */
const TICK_MS = 20;
/** Rows left pending by dead instances are marked unknown every this many heartbeats. */
const SWEEP_EVERY = 5;

export interface FleetDeps {
  store: ProxyStore;
  state: PolicyState;
  log: RequestLog;
  /** This instance's registry row, minus the sync facts FleetSync adds. */
  self: () => Omit<InstanceInfo, 'last_sync_at'>;
  /** Called for every key another writer hard-revoked, after memory has it (cut its in-flight calls). */
  onHardRevoked?: (id: string) => void;
  /** A shared store: staleness, stalls and acknowledgements matter (one instance on SQLite: its memory is the truth). */
  shared: boolean;
}

/** A store that also passes on the keys a notification says were revoked (PostgreSQL does). */
interface HintingStore {
  onRevoked(listener: (hint: RevokeHint) => void): () => void;
}

/**
 * Keeps this instance's in-memory policy state in step with the shared store:
 * - a notification (another instance's change) fetches the changes at once;
 * - every `reconcileMs` the store's revision is polled, so a lost notification is caught
 *   within one period plus a round trip;
 * - `fresh()` is false once the last successful sync started more than `maxStalenessMs` ago,
 *   which is when the data plane stops serving (fail closed) until a sync succeeds again;
 * - `fresh()` is also false after a stall (the event loop did not turn for `stallMs`: the
 *   process was paused, or starved) until a sync that started after the stall succeeds. The
 *   check runs at decision time against the clock, so a request read right after SIGCONT,
 *   before any timer fires, is held for that sync rather than decided on pre-pause state;
 * - every applied revision (and revoke hint) is acknowledged through the store, so a revoke
 *   can wait until every live instance refuses its keys (`confirm`).
 * Syncs never overlap: a request for one while one runs makes the running loop go again.
 */
export class FleetSync {
  readonly opts: Required<FleetOptions>;
  /** When the last successful sync started: monotonic for the bound, wall clock for people. Never synced: not fresh. */
  private lastOkMono = -Infinity;
  private lastOkWall = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private wantChanges = false;
  private timers: NodeJS.Timeout[] = [];
  private unsubscribe: Array<() => void> = [];
  private beatFailing = false;
  private syncFailing = false;
  private lastTick = performance.now();
  /** When a stall was noticed; fresh again once a sync that started after it succeeds. */
  private stalledAt = -Infinity;
  private beats = 0;
  private readonly acks = new AckBook();
  private readonly freshWaiters = new Set<() => void>();
  syncs = 0;
  stalls = 0;

  constructor(
    private readonly deps: FleetDeps,
    opts: FleetOptions = {},
  ) {
    this.opts = { ...FLEET_DEFAULTS, ...opts };
  }

  /** The time the state was last known current (ISO). */
  get lastSyncAt(): string {
    return new Date(this.lastOkWall).toISOString();
  }

  fresh(now = performance.now()): boolean {
    if (this.deps.shared && now - this.lastTick > this.opts.stallMs) this.stalled(now);
    return now - this.lastOkMono <= this.opts.maxStalenessMs && this.lastOkMono > this.stalledAt;
  }

  /** True when the instance is only waiting for the sync that follows a stall (worth holding a request for). */
  resyncing(): boolean {
    return this.stalledAt >= this.lastOkMono && !this.syncFailing;
  }

  /** Resolves true as soon as `fresh()`, false after `ms`. */
  whenFresh(ms: number): Promise<boolean> {
    if (this.fresh()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.freshWaiters.delete(check);
        resolve(ok);
      };
      const check = () => this.fresh() && done(true);
      const timer = setTimeout(() => done(this.fresh()), ms);
      this.freshWaiters.add(check);
    });
  }

  private stalled(now: number): void {
    if (this.stalledAt < this.lastOkMono) this.stalls++;
    this.stalledAt = now;
    this.lastTick = now;
    void this.trigger(true);
  }

  get stale(): boolean {
    return !this.fresh();
  }

  get failing(): boolean {
    return this.syncFailing;
  }

  /** Wait until every live instance refuses what `revision` revoked (at most `confirmMs`). */
  confirm(revision: number): Promise<FleetConfirmation> {
    const self = this.deps.self().instance_id;
    if (!this.deps.shared || this.opts.confirmMs <= 0)
      return Promise.resolve({ confirmed: [self], unconfirmed: [], waited_ms: 0 });
    return this.acks.confirm(this.deps.store, self, revision, this.opts.confirmMs);
  }

  private ack(revision: number, hint: boolean): void {
    const store = this.deps.store as Partial<AckingStore>;
    if (this.deps.shared && typeof store.ack === 'function')
      store.ack(this.deps.self().instance_id, revision, hint).catch(() => {});
  }

  start(): void {
    const { store } = this.deps;
    this.unsubscribe.push(
      store.onChange((rev) => {
        if (rev < 0 || rev > this.deps.state.revision) void this.trigger(true);
      }),
    );
    // A revoke's notification names its keys: flip them now, the fetch that follows confirms.
    const hinting = store as Partial<HintingStore>;
    if (typeof hinting.onRevoked === 'function') this.unsubscribe.push(hinting.onRevoked((h) => this.applyHint(h)));
    const acking = store as Partial<AckingStore>;
    if (typeof acking.onAck === 'function')
      this.unsubscribe.push(acking.onAck((a) => this.acks.note(a.instance_id, a.revision, a.hint)));
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.opts.reconcileMs, () => void this.trigger(false));
    every(this.opts.heartbeatMs, () => void this.heartbeat());
    if (this.deps.shared)
      every(TICK_MS, () => {
        const now = performance.now();
        if (now - this.lastTick > this.opts.stallMs) this.stalled(now);
        this.lastTick = now;
      });
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }

  /**
   * Sync now (`changes`: skip the revision poll, a notification says there is something).
   * Never rejects: it is started from timers and notification listeners, where a rejection
   * would be unhandled and end the process (Node's default), taking the instance down.
   */
  trigger(changes: boolean): Promise<void> {
    this.wantChanges ||= changes;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop()
      .catch((err: unknown) => this.loopFailed(err))
      .finally(() => (this.running = null));
    return this.running;
  }

  /**
   * `once` turns a failed sync into `failing`, but its own error path (the log) can throw too.
   * The state is then as stale as after any failed sync: refused once `maxStalenessMs` passes.
   */
  private loopFailed(err: unknown): void {
    this.syncFailing = true;
    this.tryLog('state sync stopped; refusing agent traffic once state is stale', err);
  }

  /** For the error paths of work started by timers: a log that throws must not make them reject. */
  private tryLog(msg: string, err: unknown): void {
    try {
      this.deps.log.error(msg, err);
    } catch {
      // the log itself failed: nothing is left to tell it with
    }
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      const changes = this.wantChanges;
      this.wantChanges = false;
      await this.once(changes);
    } while (this.again);
  }

  private async once(changes: boolean): Promise<void> {
    const t = performance.now();
    const wall = Date.now();
    try {
      const { store, state } = this.deps;
      const before = state.revision;
      if (changes || (await store.revision()) > state.revision) this.apply(await store.changesSince(state.revision));
      if (state.revision > before) this.ack(state.revision, false);
      if (t > this.lastOkMono) {
        this.lastOkMono = t;
        this.lastOkWall = wall;
      }
      for (const w of this.freshWaiters) w();
      this.syncs++;
      if (this.syncFailing) this.deps.log.info('state sync recovered', { revision: state.revision });
      this.syncFailing = false;
    } catch (err) {
      if (!this.syncFailing) this.deps.log.error('state sync failed; refusing agent traffic once state is stale', err);
      this.syncFailing = true;
    }
  }

  apply(cs: ChangeSet): void {
    this.deps.state.apply(cs);
    if (!this.deps.onHardRevoked) return;
    for (const k of cs.vault_keys)
      if (k.status === 'revoked' && k.revoke_mode === 'hard') this.deps.onHardRevoked(k.id);
  }

  /** Sent only on commit, so it is safe to act on; revocation is one-way, so never undone by a fetch. */
  applyHint(h: RevokeHint): void {
    for (const id of h.ids) {
      this.deps.state.markRevoked(id, h.at, h.mode);
      if (h.mode === 'hard') this.deps.onHardRevoked?.(id);
    }
    this.ack(h.revision, true);
  }

  async heartbeat(): Promise<void> {
    try {
      if (this.deps.shared && ++this.beats % SWEEP_EVERY === 0)
        await this.deps.store.sweepOutcomes(this.deps.self().instance_id);
      await this.deps.store.heartbeat({
        ...this.deps.self(),
        last_sync_at: this.lastSyncAt,
        revision: this.deps.state.revision,
      });
      this.beatFailing = false;
    } catch (err) {
      if (!this.beatFailing) this.tryLog('heartbeat failed', err);
      this.beatFailing = true;
    }
  }
}
