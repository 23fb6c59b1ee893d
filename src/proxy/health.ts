import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ProxyStore, StoreFailure } from './store/types.js';
import { embeddedFile } from './store/open.js';
import { StoreUnavailableError } from './store/types.js';

/** Free space on an embedded store's volume that lets audit batches be tried again after a full disk. */
export const DISK_HEADROOM_BYTES = 1024 * 1024;

/** C2: `ok` is the only status in which agent calls are forwarded. */
export type HealthStatus = 'ok' | 'store_unavailable' | 'disk_full' | 'stale';

const WRITES = new Set([
  'insertVaultKey',
  'revokeVaultKeys',
  'rollVaultKey',
  'insertUpstreamKey',
  'promoteUpstreamKey',
  'retireUpstreamKey',
  'appendAudit',
  'heartbeat',
  'sweepOutcomes',
]);

type Failure = { reason: StoreFailure; message: string; since: string };

/**
 * How much new space a write can need. Updates rewrite rows (or reuse WAL pages) in space the
 * store already holds and often still succeed on a full disk; a key row needs a little; an
 * audit batch (the write every call makes) needs the most.
 */
const SIZE: Record<string, number> = { appendAudit: 2, insertVaultKey: 1, insertUpstreamKey: 1 };
const sizeOf = (op: string) => SIZE[op] ?? 0;

/**
 * Whether the store takes writes, as the writes found it: a write that fails with
 * StoreUnavailableError sets a failure (disk full, locked, unreachable) for its kind of write.
 * Any success proves a locked or unreachable store is back. A full disk is cleared only by a
 * write of the same kind or one needing at least as much space: so a heartbeat that still fits
 * never turns health `ok` while calls are refused for their audit rows, and the next audit batch
 * that goes through does. Reads do not count: on a full disk they still work.
 */
export class StoreHealth {
  private readonly failures = new Map<string, Failure>();

  /** The oldest outstanding failure, or null when no kind of write is failing. */
  get failure(): Failure | null {
    let oldest: Failure | null = null;
    for (const f of this.failures.values()) if (!oldest || f.since < oldest.since) oldest = f;
    return oldest;
  }

  ok(op: string): void {
    for (const [k, f] of [...this.failures])
      if (k === op || f.reason !== 'disk_full' || sizeOf(k) <= sizeOf(op)) this.failures.delete(k);
  }

  /**
   * The volume has room again (measured, not written): forget the full-disk failures, so calls
   * are tried again. Safe to be wrong: a call's intent row is written before it is forwarded, so
   * a batch that still does not fit refuses its calls and sets the failure again.
   */
  spaceFreed(): void {
    for (const [k, f] of [...this.failures]) if (f.reason === 'disk_full') this.failures.delete(k);
  }

  failed(err: StoreUnavailableError, op: string): void {
    const f = this.failures.get(op);
    if (f?.reason === err.reason) f.message = err.message;
    else this.failures.set(op, { reason: err.reason, message: err.message, since: new Date().toISOString() });
  }

  /** The store, with every write's outcome noted here. */
  observe<S extends ProxyStore>(store: S): S {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== 'function') return v;
        if (typeof prop !== 'string' || !WRITES.has(prop)) return (v as (...a: unknown[]) => unknown).bind(target);
        return async (...args: unknown[]) => {
          try {
            const out = await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            this.ok(prop);
            return out;
          } catch (err) {
            if (err instanceof StoreUnavailableError) this.failed(err, prop);
            throw err;
          }
        };
      },
    });
  }
}

export interface HealthInputs {
  store: StoreHealth;
  /** A shared store: is this instance's state current (synced recently, no stall since)? */
  fresh: () => boolean;
  /** Is the sync with the shared store failing (as opposed to merely waiting after a stall)? */
  syncFailing: () => boolean;
}

/** The one status every health answer (admin and readiness) reports, and why. */
export function healthOf(h: HealthInputs): { status: HealthStatus; reason: string | null } {
  const f = h.store.failure;
  if (f) return { status: f.reason === 'disk_full' ? 'disk_full' : 'store_unavailable', reason: f.message };
  if (!h.fresh())
    return h.syncFailing()
      ? { status: 'store_unavailable', reason: 'cannot sync with the shared store' }
      : { status: 'stale', reason: 'state not confirmed current since a pause; resyncing' };
  return { status: 'ok', reason: null };
}

/**
 * After a full disk, an idle instance has no audit batch to prove the space is back (a heartbeat
 * fits where a batch does not), and a load balancer that drained it on readiness sends none: so
 * the embedded store's volume is measured instead. PostgreSQL's disk is the server's, not ours.
 */
export async function recheckFreeSpace(health: StoreHealth, store: ProxyStore): Promise<void> {
  const path = embeddedFile(store);
  if (health.failure?.reason !== 'disk_full' || path === null) return;
  try {
    const fs = await statfs(dirname(path));
    if (fs.bavail * fs.bsize >= DISK_HEADROOM_BYTES) health.spaceFreed();
  } catch {
    // the volume cannot be measured: wait for an audit batch to clear it, as before
  }
}
