import pg from 'pg';
import { PG_TYPES } from './postgres-rows.js';

export const CHANGE_CHANNEL = 'tourniquet_changes';
/** Instances acknowledge here what they have applied (`{"i": instance, "r": revision, "h": 1 if only a revoke hint}`). */
export const ACK_CHANNEL = 'tourniquet_acks';
export const LISTENER_APP_NAME = 'tourniquet-listen';
/** Largest revoke hint sent as a payload (PostgreSQL's limit is 8000 bytes); bigger ones send the revision only. */
export const MAX_HINT = 7000;

/** What a revoke's notification says beyond its revision: which keys, how, and when. */
export interface RevokeHint {
  revision: number;
  ids: string[];
  mode: 'soft' | 'hard';
  at: string;
}

export interface Ack {
  instance_id: string;
  revision: number;
  /** Only the keys named by the revoke hint of `revision` (not every change up to it). */
  hint: boolean;
}

export function parseAck(payload: string | undefined): Ack | null {
  try {
    const j = JSON.parse(payload ?? '') as { i?: unknown; r?: unknown; h?: unknown };
    return typeof j.i === 'string' && Number.isFinite(Number(j.r))
      ? { instance_id: j.i, revision: Number(j.r), hint: j.h === 1 }
      : null;
  } catch {
    return null;
  }
}

export interface ListenHandlers {
  onRevision(revision: number): void;
  onHint?(hint: RevokeHint): void;
  onAck?(ack: Ack): void;
  onError?(err: unknown): void;
}

/** A payload is a revision (`42`) or a revoke hint (`{"r":42,"k":[…],"m":"hard","at":"…"}`). */
export function parsePayload(payload: string | undefined): { revision: number; hint: RevokeHint | null } | null {
  if (!payload) return null;
  if (!payload.startsWith('{')) {
    const revision = Number(payload);
    return Number.isFinite(revision) ? { revision, hint: null } : null;
  }
  try {
    const j = JSON.parse(payload) as { r: number; k: string[]; m: string; at: string };
    const hint =
      Array.isArray(j.k) && j.k.length
        ? {
            revision: Number(j.r),
            ids: j.k.map(String),
            mode: j.m === 'hard' ? ('hard' as const) : ('soft' as const),
            at: String(j.at),
          }
        : null;
    return Number.isFinite(Number(j.r)) ? { revision: Number(j.r), hint } : null;
  } catch {
    return null;
  }
}

/**
 * LISTEN on a dedicated connection (a pooled one would be handed to other queries). When the
 * connection drops it reconnects with backoff; notifications sent while it was down are lost,
 * which is what the reconcile loop (fleet/sync.ts) is for.
 */
export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = 100;
  connected = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly on: ListenHandlers,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ ...this.config, application_name: LISTENER_APP_NAME, types: PG_TYPES });
    this.client = client;
    client.on('notification', (msg) => {
      if (msg.channel === ACK_CHANNEL) {
        const a = parseAck(msg.payload);
        if (a) this.on.onAck?.(a);
        return;
      }
      const p = parsePayload(msg.payload);
      if (!p) return;
      if (p.hint) this.on.onHint?.(p.hint);
      this.on.onRevision(p.revision);
    });
    const lost = (err?: unknown) => {
      if (client !== this.client) return;
      this.connected = false;
      this.client = null;
      if (err) this.on.onError?.(err);
      client.end().catch(() => {});
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}; LISTEN ${ACK_CHANNEL}`);
      this.connected = true;
      this.backoffMs = 100;
      // Whatever was notified while we were away: let the owner catch up now.
      this.on.onRevision(-1);
    } catch (err) {
      lost(err);
    }
  }

  private retry(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect();
    }, this.backoffMs);
    this.timer.unref();
    this.backoffMs = Math.min(this.backoffMs * 2, 2_000);
  }

  /**
   * Send a notification on this connection (it is idle between notifications), so an
   * acknowledgement never queues behind the pool's audit writes. False when not connected.
   */
  async notify(channel: string, payload: string): Promise<boolean> {
    const c = this.client;
    if (!c || !this.connected) return false;
    await c.query('SELECT pg_notify($1, $2)', [channel, payload]);
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    this.connected = false;
    await c?.end().catch(() => {});
  }
}
