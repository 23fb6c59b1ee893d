import type { ProxyStore, StoreFailure } from './store/types.js';
import { StoreUnavailableError } from './store/types.js';

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

/**
 * Whether the store takes writes, as the last write found it: a write that fails with
 * StoreUnavailableError sets the failure (disk full, locked, unreachable); the next write that
 * succeeds clears it. Reads do not count: on a full disk they still work.
 */
export class StoreHealth {
  failure: { reason: StoreFailure; message: string; since: string } | null = null;

  ok(): void {
    this.failure = null;
  }

  failed(err: StoreUnavailableError): void {
    if (this.failure?.reason === err.reason) this.failure.message = err.message;
    else this.failure = { reason: err.reason, message: err.message, since: new Date().toISOString() };
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
            this.ok();
            return out;
          } catch (err) {
            if (err instanceof StoreUnavailableError) this.failed(err);
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
