import pg from 'pg';
import { PG_TYPES } from './postgres-rows.js';

export const CHANGE_CHANNEL = 'tourniquet_changes';
export const LISTENER_APP_NAME = 'tourniquet-listen';

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
    private readonly onRevision: (revision: number) => void,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ ...this.config, application_name: LISTENER_APP_NAME, types: PG_TYPES });
    this.client = client;
    client.on('notification', (msg) => {
      const rev = Number(msg.payload);
      if (Number.isFinite(rev)) this.onRevision(rev);
    });
    const lost = (err?: unknown) => {
      if (client !== this.client) return;
      this.connected = false;
      this.client = null;
      if (err) this.onError(err);
      client.end().catch(() => {});
      this.retry();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      this.connected = true;
      this.backoffMs = 100;
      // Whatever was notified while we were away: let the owner catch up now.
      this.onRevision(-1);
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

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    this.connected = false;
    await c?.end().catch(() => {});
  }
}
