import pg from 'pg';
import { migrate } from './postgres-schema.js';
import { PG_TYPES, unavailable } from './postgres-rows.js';
import { ACK_CHANNEL, CHANGE_CHANNEL, ChangeListener, type Ack, type RevokeHint } from './postgres-listen.js';
import { StoreUnavailableError } from './types.js';
import type { Row } from './records.js';

export interface PostgresStoreOptions {
  /** LISTEN for other instances' changes (default true). Off: only the reconcile loop syncs. */
  notifications?: boolean;
  /** Pool size (default 10). */
  max?: number;
  /** An instance whose heartbeat is older than this drops out of listInstances (default 5 s). */
  instanceTtlMs?: number;
  /** How long an audit batch keeps retrying through an outage before its calls are refused (default 2 s). */
  auditRetryMs?: number;
  /** How long a key change keeps retrying through a failover before it is a 503 (default 3 s). */
  writeRetryMs?: number;
}

export type Tx = pg.PoolClient;
export const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(', ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client checked out of the pool has no error listener of the pool's: without one, a dying connection kills the process. */
function guard(client: pg.ClientBase): () => void {
  const ignore = () => {};
  client.on('error', ignore);
  return () => void client.removeListener('error', ignore);
}

/**
 * The connection side of the PostgreSQL store: the pool, the LISTEN connection, queries and
 * transactions that turn connection failures into StoreUnavailableError. No connection error
 * ever reaches the process as an unhandled 'error' event: idle clients (the pool's handler),
 * checked-out ones (guard), the LISTEN one (postgres-listen.ts).
 */
export class PgConnection {
  readonly pool: pg.Pool;
  private readonly listeners = new Set<(revision: number) => void>();
  private readonly hintListeners = new Set<(hint: RevokeHint) => void>();
  private readonly ackListeners = new Set<(ack: Ack) => void>();
  private listener: ChangeListener | null = null;
  private readonly config: pg.ClientConfig;

  constructor(
    url: string,
    protected readonly opts: PostgresStoreOptions = {},
  ) {
    this.config = {
      connectionString: url,
      connectionTimeoutMillis: 2_000,
      // Every statement has a deadline, on the client and on the server.
      query_timeout: 5_000,
      statement_timeout: 5_000,
      options: '-c TimeZone=UTC',
      keepAlive: true,
    };
    // Idle connections stay open: a revoke should never wait for a connection handshake.
    this.pool = new pg.Pool({
      ...this.config,
      max: opts.max ?? 10,
      idleTimeoutMillis: 0,
      types: PG_TYPES,
      application_name: 'tourniquet-proxy',
    });
    // An idle client whose server went away emits here; without a handler the process dies.
    this.pool.on('error', () => {});
  }

  /** Migrate (under the advisory lock), then start listening. */
  async init(): Promise<void> {
    const client = await this.pool.connect().catch(unavailable);
    const unguard = guard(client);
    let broken: Error | undefined;
    try {
      await migrate(client).catch((err: Error) => ((broken = err), unavailable(err)));
    } finally {
      unguard();
      client.release(broken);
    }
    if (this.opts.notifications !== false) {
      this.listener = new ChangeListener(this.config, {
        onRevision: (rev) => this.emit(rev),
        onHint: (hint) => this.hintListeners.forEach((l) => l(hint)),
        onAck: (ack) => this.ackListeners.forEach((l) => l(ack)),
      });
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

  /** Acknowledgements from every instance (this one's included): the revision, or the revoke hint, it has applied. */
  onAck(listener: (ack: Ack) => void): () => void {
    this.ackListeners.add(listener);
    return () => void this.ackListeners.delete(listener);
  }

  /** On the LISTEN connection when it is up (never behind queued audit writes), else through the pool. */
  async ack(instanceId: string, revision: number, hintOnly: boolean): Promise<void> {
    const payload = JSON.stringify({ i: instanceId, r: revision, h: hintOnly ? 1 : 0 });
    if (await this.listener?.notify(ACK_CHANNEL, payload).catch(() => false)) return;
    await this.q('SELECT pg_notify($1, $2)', [ACK_CHANNEL, payload]);
  }

  /** Is the LISTEN connection up? (False when notifications are off.) */
  get listening(): boolean {
    return this.listener?.connected ?? false;
  }

  /** Rows are unknown fields (`Row`) unless the caller names their shape. */
  protected async q<R extends pg.QueryResultRow = Row>(
    text: string,
    values: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, values).catch(unavailable);
  }

  /**
   * An idempotent write, retried through a failover (the connection dropped, the server
   * restarting) until `writeRetryMs` has passed; then the StoreUnavailableError stands.
   */
  protected async retrying<T>(fn: () => Promise<T>, budgetMs = this.opts.writeRetryMs ?? 3_000): Promise<T> {
    const deadline = Date.now() + budgetMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 400)) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof StoreUnavailableError) || Date.now() + wait >= deadline) throw err;
        await sleep(wait);
      }
    }
  }

  /**
   * Reads on one pooled client in one REPEATABLE READ, READ ONLY transaction: every query sees
   * the same snapshot, whatever other instances commit meanwhile.
   */
  protected snapshot<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    return this.onClient(['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY'], fn);
  }

  /**
   * A write transaction on one pooled client; a broken connection is destroyed, not reused.
   * It takes the revision row's lock first, so key writers queue in one order (no deadlock)
   * and commit in revision order. Every caller's transaction is idempotent, so it is retried.
   */
  protected tx<T>(fn: (c: Tx) => Promise<T>): Promise<T> {
    return this.retrying(() =>
      this.onClient(['BEGIN', 'SELECT revision FROM tourniquet_meta WHERE id = 1 FOR UPDATE'], fn),
    );
  }

  /** `begin`, then `fn`, then COMMIT on one pooled client; ROLLBACK on failure, and a broken connection is destroyed. */
  private async onClient<T>(begin: string[], fn: (c: Tx) => Promise<T>): Promise<T> {
    const c = await this.pool.connect().catch(unavailable);
    const unguard = guard(c);
    let broken: Error | undefined;
    try {
      for (const q of begin) await c.query(q);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch((e: Error) => (broken = e));
      return unavailable(err);
    } finally {
      unguard();
      c.release(broken);
    }
  }

  /** Bump the revision and notify it, inside the caller's transaction. */
  protected async bump(c: Tx): Promise<number> {
    const r = await c.query<{ revision: number }>(
      'UPDATE tourniquet_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision',
    );
    const rev = Number(r.rows[0]!.revision);
    await c.query('SELECT pg_notify($1, $2)', [CHANGE_CHANNEL, String(rev)]);
    return rev;
  }
}
