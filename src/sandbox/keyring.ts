import { randomBytes } from 'node:crypto';

/**
 * A sandbox vendor's production keys, with the propagation tail seed 002 measured: a deleted
 * key keeps working at the vendor's edge for a while. Each deletion draws its own tail from a
 * log-normal fitted to the vendor's median and p95, scaled by `timeScale` (0.001 turns
 * Stripe's 45 s median into 45 ms for a test or a demo).
 */
export interface Tail {
  medianMs: number;
  p95Ms: number;
}

export type TailMode = 'sampled' | 'median' | 'p95' | 'none';

export interface KeyringOptions {
  /** Replace the vendor's measured tail (before timeScale). */
  tail?: Tail;
  timeScale?: number;
  tailMode?: TailMode;
  /** Deterministic draws for tests. */
  random?: () => number;
}

interface KeyEntry {
  secret: string;
  id: string;
  name: string;
  createdAt: number;
  deletedAt: number | null;
  /** When the edge stops accepting it (deletedAt + tail). */
  deadAt: number | null;
  calls: number;
  callsAfterDelete: number;
  meta: Record<string, unknown>;
}

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export function token(n: number, alphabet = ALPHANUM): string {
  let out = '';
  for (const b of randomBytes(n)) out += alphabet[b % alphabet.length];
  return out;
}
export const hex = (n: number) => token(n, '0123456789abcdef');

function normal(random: () => number): number {
  // Box–Muller.
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export class Keyring {
  private readonly keys = new Map<string, KeyEntry>();
  private readonly byId = new Map<string, KeyEntry>();
  readonly timeScale: number;

  readonly tail: Tail;

  constructor(
    readonly vendor: string,
    measured: Tail,
    private readonly opts: KeyringOptions = {},
  ) {
    this.tail = opts.tail ?? measured;
    this.timeScale = opts.timeScale ?? 1;
  }

  add(secret: string, id: string, name = 'key', meta: Record<string, unknown> = {}): void {
    const e: KeyEntry = {
      secret,
      id,
      name,
      createdAt: Date.now(),
      deletedAt: null,
      deadAt: null,
      calls: 0,
      callsAfterDelete: 0,
      meta,
    };
    this.keys.set(secret, e);
    this.byId.set(id, e);
  }

  /** The tail this deletion gets, in ms (already scaled). */
  drawTailMs(): number {
    const mode = this.opts.tailMode ?? 'sampled';
    const { medianMs, p95Ms } = this.tail;
    let ms: number;
    if (mode === 'none') ms = 0;
    else if (mode === 'median') ms = medianMs;
    else if (mode === 'p95') ms = p95Ms;
    else {
      const sigma = Math.log(p95Ms / medianMs) / 1.645;
      ms = medianMs * Math.exp(sigma * normal(this.opts.random ?? Math.random));
    }
    return ms * this.timeScale;
  }

  /** Delete at the control plane; the edge keeps accepting it until the returned time. */
  delete(idOrSecret: string): { id: string; deleted_at: string; stops_working_at: string } | undefined {
    const e = this.byId.get(idOrSecret) ?? this.keys.get(idOrSecret);
    if (!e) return undefined;
    if (e.deletedAt === null) {
      e.deletedAt = Date.now();
      e.deadAt = e.deletedAt + this.drawTailMs();
    }
    return {
      id: e.id,
      deleted_at: new Date(e.deletedAt).toISOString(),
      stops_working_at: new Date(e.deadAt!).toISOString(),
    };
  }

  /** Does the edge accept this secret now? Counts the call either way. */
  accept(secret: string): KeyEntry | undefined {
    const e = this.keys.get(secret);
    if (!e) return undefined;
    const now = Date.now();
    if (e.deadAt !== null && now >= e.deadAt) return undefined;
    e.calls++;
    if (e.deletedAt !== null) e.callsAfterDelete++;
    return e;
  }

  get(idOrSecret: string): KeyEntry | undefined {
    return this.byId.get(idOrSecret) ?? this.keys.get(idOrSecret);
  }

  /** Not deleted at the control plane (a deleted key's id answers 404 there, whatever its edge still accepts). */
  live(idOrSecret: string): boolean {
    const e = this.get(idOrSecret);
    return e !== undefined && e.deletedAt === null;
  }

  /** Listed keys: those not deleted at the control plane. */
  list(): KeyEntry[] {
    return [...this.byId.values()].filter((e) => e.deletedAt === null);
  }

  stats(): Array<{ id: string; name: string; deleted: boolean; calls: number; calls_after_delete: number }> {
    return [...this.byId.values()].map((e) => ({
      id: e.id,
      name: e.name,
      deleted: e.deletedAt !== null,
      calls: e.calls,
      calls_after_delete: e.callsAfterDelete,
    }));
  }
}
