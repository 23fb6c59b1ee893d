import pg from 'pg';
import { migrate } from './postgres-schema.js';
import { PG_TYPES, unavailable } from './postgres-rows.js';
import { CHANGE_CHANNEL, ChangeListener, type RevokeHint } from './postgres-listen.js';

export interface PostgresStoreOptions {
  /** LISTEN for other instances' changes (default true). Off: only the reconcile loop syncs. */
  notifications?: boolean;
  /** Pool size (default 10). */
  max?: number;
  /** An instance whose heartbeat is older than this drops out of listInstances (default 5 s). */
  instanceTtlMs?: number;
  /** How long an audit batch keeps retrying through an outage before its requests get 503 (default 2 s). */
  auditRetryMs?: number;
}

export type Tx = pg.PoolClient;
export const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');

/**
 * The connection side of the PostgreSQL store: the pool, the LISTEN connection, queries and
 * transactions that turn connection failures into StoreUnavailableError.
 */
export class PgConnection {
  readonly pool: pg.Pool;
  private readonly listeners = new Set<(revision: number) => void>();
  private readonly hintListeners = new Set<(hint: RevokeHint) => void>();
  private listener: ChangeListener | null = null;
  private readonly config: pg.ClientConfig;

  constructor(url: string, protected readonly opts: PostgresStoreOptions = {}) {
    this.config = {
      connectionString: url,
      connectionTimeoutMillis: 2_000,
      query_timeout: 10_000,
      options: '-c TimeZone=UTC',
      keepAlive: true,
    };
    // Idle connections stay open: a revoke should never wait for a connection handshake.
    this.pool = new pg.Pool({ ...this.config, max: opts.max ?? 10, idleTimeoutMillis: 0, types: PG_TYPES, application_name: 'tourniquet-proxy' });
    // An idle client whose server went away emits here; without a handler the process dies.
    this.pool.on('error', () => {});
  }

  /** Migrate (under the advisory lock), then start listening. */
  async init(): Promise<void> {
    const client = await this.pool.connect().catch(unavailable);
    try {
      await migrate(client);
    } finally {
      client.release();
    }
    if (this.opts.notifications !== false) {
      this.listener = new ChangeListener(
        this.config,
        (rev) => this.emit(rev),
        (hint) => this.hintListeners.forEach((l) => l(hint)),
      );
      this.listener.start();
    }
  }

  async close(): Promise<void> {
    await this.listener?.stop();
    await this.pool.end().catch(() => {});
  }

  private emit(revision: number): void {
    for (const l of this.listeners) l(revision);
  }

  /** A listener gets each notified revision, and -1 after a reconnect (changes may have been missed). */
  onChange(listener: (revision: number) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Revoke hints from notifications: keys another instance revoked, before any fetch. */
  onRevoked(listener: (hint: RevokeHint) => void): () => void {
    this.hintListeners.add(listener);
    return () => void this.hintListeners.delete(listener);
  }

  /** Is the LISTEN connection up? (False when notifications are off.) */
  get listening(): boolean {
    return this.listener?.connected ?? false;
  }

  protected async q(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
    return this.pool.query(text, values).catch(unavailable);
  }

  /**
   * A write transaction on one pooled client; a broken connection is destroyed, not reused.
   * It takes the revision row's lock first, so key writers queue in one order (no deadlock)
   * and commit in revision order.
   */
  protected async tx<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    const c = await this.pool.connect().catch(unavailable);
    let broken: Error | undefined;
    try {
      await c.query('BEGIN');
      await c.query('SELECT revision FROM tourniquet_meta WHERE id = 1 FOR UPDATE');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      return unavailable(err);
    } finally {
      c.release(broken);
    }
  }

  /** Bump the revision and notify it, inside the caller's transaction. */
  protected async bump(c: Tx): Promise<number> {
    const r = await c.query<{ revision: number }>('UPDATE tourniquet_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision');
    const rev = Number(r.rows[0]!.revision);
    await c.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, String(rev)]);
    return rev;
  }
}
