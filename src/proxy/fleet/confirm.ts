import type { AckingStore, ProxyStore } from '../store/types.js';

/** C1 `fleet`: the live instances that confirmed refusing a revoked key within the wait, and those that did not. */
export interface FleetConfirmation {
  confirmed: string[];
  unconfirmed: string[];
  waited_ms: number;
  /** The instance list could not be read (the store failed right after the revoke): nobody else is confirmed. */
  instances_unknown?: boolean;
}

interface Applied {
  /** Every change up to this revision is in the instance's memory. */
  revision: number;
  /** Revoke hints (by revision) it has applied: the keys they name are refused there. */
  hints: Set<number>;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/**
 * What each instance has acknowledged applying (through the store's ack channel), and the wait
 * a revoke makes until every live instance refuses its keys.
 */
export class AckBook {
  private readonly applied = new Map<string, Applied>();
  private readonly waiters = new Set<() => void>();

  note(instance: string, revision: number, hint: boolean): void {
    let a = this.applied.get(instance);
    if (!a) this.applied.set(instance, (a = { revision: 0, hints: new Set() }));
    if (hint) {
      a.hints.add(revision);
      if (a.hints.size > 256) a.hints.delete(a.hints.values().next().value!);
    } else if (revision > a.revision) a.revision = revision;
    for (const w of this.waiters) w();
  }

  refuses(instance: string, revision: number): boolean {
    const a = this.applied.get(instance);
    return !!a && (a.revision >= revision || a.hints.has(revision));
  }

  /**
   * Wait (at most `waitMs`) until every instance the registry lists as live has acknowledged
   * `revision` (or its revoke hint). This instance counts as confirmed: its memory flipped first.
   */
  async confirm(
    store: ProxyStore & Partial<AckingStore>,
    self: string,
    revision: number,
    waitMs: number,
  ): Promise<FleetConfirmation> {
    const t0 = performance.now();
    let live: string[];
    try {
      live = (await store.listInstances()).map((i) => i.instance_id).filter((i) => i !== self);
    } catch {
      return { confirmed: [self], unconfirmed: [], waited_ms: round(performance.now() - t0), instances_unknown: true };
    }
    const missing = () => live.filter((i) => !this.refuses(i, revision));
    if (missing().length && typeof store.onAck === 'function') {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(check);
          resolve();
        };
        const check = () => missing().length === 0 && done();
        const timer = setTimeout(done, Math.max(0, waitMs - (performance.now() - t0)));
        this.waiters.add(check);
      });
    }
    const unconfirmed = missing();
    return {
      confirmed: [self, ...live.filter((i) => !unconfirmed.includes(i))],
      unconfirmed,
      waited_ms: round(performance.now() - t0),
    };
  }
}
