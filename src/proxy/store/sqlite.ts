import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import type {
  AuditFilter,
  AuditOutcome,
  AuditPage,
  AuditRow,
  AuditSummary,
  ChangeSet,
  InstanceInfo,
  ProxyStore,
  RevokeResult,
  UpstreamKeyRecord,
  VaultKeyFilter,
  VaultKeyRecord,
} from './types.js';
import { SQLITE_SCHEMA, migrateSqlite } from './sqlite-schema.js';
import { CHARGED_USD_SQL } from './audit-shared.js';
import { appendTx, queryAudit, summarizeAudit, sumByKey } from './sqlite-audit.js';
import { InlineWriter, ThreadWriter, TxBuilder, classifySqlite, type SqliteWriter } from './sqlite-writer.js';
import { BUMP, REV, addRevoke, addVaultKey, marks, revokeResult } from './sqlite-keys.js';
import { toUpstreamKey, toVaultKey, type Row } from './records.js';
import type { SecretSealer } from '../crypto/sealer.js';
import { sealedColumns, type SealedSecretStore, type SecretsAtRest } from './sealed-columns.js';
import { upgradeSqliteSchema } from './sqlite-schema-security.js';
import { syncAnswer } from './sync-answer.js';
import { rewrapTx, sealPlaintextTx, sqliteSecretsAtRest, storeMasterKeyId } from './sqlite-sealed.js';
import type { AdminAuditFilter, AdminAuditRow, AdminAuditStore } from '../admin/admin-audit.js';
import { ADMIN_AUDIT_COLUMNS, adminAuditValues, adminAuditWhere, toAdminAuditRow } from './admin-audit-sql.js';

export interface SqliteOptions {
  /**
   * For audit rows (key changes are always fsynced).
   * 'full' (default): every commit is fsynced, so a row survives power loss, not only a crash.
   * 'normal': WAL without fsync per commit; a row survives SIGKILL of the proxy (it is in the
   * OS's hands) but not the machine losing power. Faster on disks with slow fsync.
   */
  sync?: 'full' | 'normal';
  /** How long a write may take before it fails with StoreUnavailableError (default 3 s). */
  deadlineMs?: number;
}

/** Reads on the event loop wait at most this for a lock (in WAL mode readers rarely wait at all). */
const READ_BUSY_MS = 250;

/**
 * The embedded store: one SQLite file, WAL, synchronous=FULL for key changes. Reads run on the
 * caller's connection (WAL readers are not blocked by a writer); every write goes through one
 * writer thread (sqlite-writer.ts) with a deadline, so a file locked by another process or a
 * full disk is a StoreUnavailableError after a bounded wait, never a stalled event loop.
 */
export class SqliteStore implements ProxyStore, SealedSecretStore, AdminAuditStore {
  readonly kind = 'sqlite';
  private db!: Database.Database;
  private writer!: SqliteWriter;
  private sealer: SecretSealer | null = null;

  constructor(
    readonly path: string,
    private readonly opts: SqliteOptions = {},
  ) {}

  init(): Promise<void> {
    return syncAnswer(() => {
      try {
        const fresh = this.path !== ':memory:' && !existsSync(this.path);
        this.db = new Database(this.path, { timeout: 2_000 });
        // The file may hold production keys added through the admin API: owner-only.
        if (fresh) chmodSync(this.path, 0o600);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma('synchronous = FULL');
        this.db.exec(SQLITE_SCHEMA);
        migrateSqlite(this.db);
        upgradeSqliteSchema(this.db);
        this.db.pragma(`busy_timeout = ${READ_BUSY_MS}`);
      } catch (err) {
        if (this.db?.open) this.db.close();
        throw classifySqlite(err, this.path);
      }
      this.writer = this.path === ':memory:' ? new InlineWriter(this.db) : new ThreadWriter(this.path);
    });
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.db?.open) this.db.close();
  }

  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw classifySqlite(err, this.path);
    }
  }

  /** A read answered as the interface's promise: a failure is a rejection (sync-answer.ts). */
  private answer<T>(fn: () => T): Promise<T> {
    return syncAnswer(() => this.read(fn));
  }

  private write(t: TxBuilder, sync: 'FULL' | 'NORMAL' = 'FULL'): Promise<unknown[]> {
    return this.writer.write(t.tx(sync), this.opts.deadlineMs ?? 3_000);
  }

  revision(): Promise<number> {
    return this.answer(() =>
      Number((this.db.prepare(`SELECT v FROM meta WHERE k = 'revision'`).get() as { v: string }).v),
    );
  }

  async insertVaultKey(rec: VaultKeyRecord): Promise<void> {
    const t = new TxBuilder();
    addVaultKey(t, rec);
    await this.write(t);
  }

  getVaultKey(id: string): Promise<VaultKeyRecord | undefined> {
    return syncAnswer(() => {
      const r = this.read(() => this.db.prepare(`SELECT * FROM vault_keys WHERE id = ?`).get(id) as Row | undefined);
      return r ? toVaultKey(r) : undefined;
    });
  }

  listVaultKeys(f: VaultKeyFilter): Promise<VaultKeyRecord[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v === undefined) return;
      parts.push(`${col} = ?`);
      params.push(v);
    };
    eq('vendor', f.vendor);
    eq('status', f.status);
    eq('agent', f.agent);
    eq('agent_run_id', f.agent_run_id);
    eq('upstream_key_id', f.upstream_key_id);
    if (f.ids) {
      parts.push(`id IN (${f.ids.map(() => '?').join(',') || 'NULL'})`);
      params.push(...f.ids);
    }
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    return this.answer(() =>
      (this.db.prepare(`SELECT * FROM vault_keys ${where} ORDER BY created_at, id`).all(...params) as Row[]).map(
        toVaultKey,
      ),
    );
  }

  async revokeVaultKeys(ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult> {
    if (ids.length === 0) return { revoked: [], already_revoked: [], not_found: [] };
    const t = new TxBuilder();
    const steps = addRevoke(t, ids, at, mode);
    return revokeResult(ids, await this.write(t), steps);
  }

  async rollVaultKey(oldId: string, next: VaultKeyRecord, revokeOld: boolean, at: string): Promise<number> {
    const t = new TxBuilder();
    addVaultKey(t, next);
    if (revokeOld) addRevoke(t, [oldId], at, 'soft');
    const rev = t.add(`SELECT CAST(v AS INTEGER) AS v FROM meta WHERE k = 'revision'`, [], 'get');
    return Number(((await this.write(t))[rev] as { v: number }).v);
  }

  async insertUpstreamKey(rec: UpstreamKeyRecord): Promise<void> {
    const kid = rec.secret === null ? null : this.read(() => storeMasterKeyId(this.db));
    if (rec.secret !== null) await this.sealer?.prepare(kid);
    const { secret: _plain, ...fields } = rec;
    const row: Record<string, unknown> = { ...fields, ...sealedColumns(rec, this.sealer, kid) };
    const cols = Object.keys(row);
    const t = new TxBuilder();
    t.add(BUMP);
    // Config-file keys are re-declared at every start: keep their state, refresh the rest.
    t.add(
      `INSERT INTO upstream_keys (${cols.join(', ')}, revision) VALUES (${marks(cols.length)}, ${REV})
       ON CONFLICT(id) DO UPDATE SET hint = excluded.hint, label = excluded.label, account_sid = excluded.account_sid,
         secret = excluded.secret, secret_ct = excluded.secret_ct, secret_dek = excluded.secret_dek,
         master_key_id = excluded.master_key_id, revision = excluded.revision`,
      cols.map((c) => row[c]),
    );
    await this.write(t);
  }

  listUpstreamKeys(f: { vendor?: string }): Promise<UpstreamKeyRecord[]> {
    return syncAnswer(() => {
      const rows = this.read(() =>
        f.vendor
          ? this.db.prepare(`SELECT * FROM upstream_keys WHERE vendor = ? ORDER BY created_at, id`).all(f.vendor)
          : this.db.prepare(`SELECT * FROM upstream_keys ORDER BY created_at, id`).all(),
      );
      return (rows as Row[]).map((r) => toUpstreamKey(r, this.sealer));
    });
  }

  private getUpstream(id: string): UpstreamKeyRecord | undefined {
    const r = this.read(() => this.db.prepare(`SELECT * FROM upstream_keys WHERE id = ?`).get(id) as Row | undefined);
    return r ? toUpstreamKey(r, this.sealer) : undefined;
  }

  /** Bump only when the key exists; `then` adds the updates; the key as it is after them. */
  private async upstreamChange(id: string, then: (t: TxBuilder) => void): Promise<UpstreamKeyRecord | undefined> {
    const t = new TxBuilder();
    t.add(`${BUMP} AND EXISTS (SELECT 1 FROM upstream_keys WHERE id = ?)`, [id]);
    then(t);
    const after = t.add(`SELECT * FROM upstream_keys WHERE id = ?`, [id], 'get');
    const r = (await this.write(t))[after] as Row | undefined;
    return r ? toUpstreamKey(r, this.sealer) : undefined;
  }

  async promoteUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.upstreamChange(id, (t) => {
      t.add(
        `UPDATE upstream_keys SET state = 'standby', updated_at = ?, revision = ${REV}
             WHERE vendor = (SELECT vendor FROM upstream_keys WHERE id = ?) AND state = 'active' AND id <> ?`,
        [at, id, id],
      );
      t.add(`UPDATE upstream_keys SET state = 'active', updated_at = ?, revision = ${REV} WHERE id = ?`, [at, id]);
    });
  }

  async retireUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.upstreamChange(id, (t) =>
      t.add(`UPDATE upstream_keys SET state = 'retired', updated_at = ?, revision = ${REV} WHERE id = ?`, [at, id]),
    );
  }

  async appendAudit(rows: AuditRow[], outcomes: AuditOutcome[] = []): Promise<void> {
    if (!rows.length && !outcomes.length) return;
    await this.write(appendTx(rows, outcomes), this.opts.sync === 'normal' ? 'NORMAL' : 'FULL');
  }

  async sweepOutcomes(selfId: string): Promise<number> {
    const t = new TxBuilder();
    t.add(`UPDATE agent_call_audit SET outcome = 'unknown' WHERE outcome = 'pending' AND instance_id <> ?`, [selfId]);
    return Number((await this.write(t, 'NORMAL'))[0]);
  }

  queryAudit(filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage> {
    return this.answer(() => queryAudit(this.db, filter, limit, cursor));
  }

  summarizeAudit(filter: AuditFilter, revokedAt?: string): Promise<AuditSummary> {
    return this.answer(() => summarizeAudit(this.db, filter, revokedAt));
  }

  spendByVaultKey(from: string): Promise<Map<string, number>> {
    return this.answer(() =>
      sumByKey(
        this.db,
        `SELECT vault_key_id AS k, SUM(${CHARGED_USD_SQL}) AS v FROM agent_call_audit
         WHERE started_at >= ? AND policy_verdict = 'allowed' AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
        [from],
      ),
    );
  }

  callsByVaultKey(from: string, to: string): Promise<Map<string, number>> {
    return this.answer(() =>
      sumByKey(
        this.db,
        `SELECT vault_key_id AS k, COUNT(*) AS v FROM agent_call_audit
         WHERE started_at >= ? AND started_at < ? AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
        [from, to],
      ),
    );
  }

  changesSince(revision: number): Promise<ChangeSet> {
    return this.answer(() =>
      this.db.transaction(() => ({
        revision: Number((this.db.prepare(`SELECT v FROM meta WHERE k = 'revision'`).get() as { v: string }).v),
        vault_keys: (this.db.prepare(`SELECT * FROM vault_keys WHERE revision > ?`).all(revision) as Row[]).map(
          toVaultKey,
        ),
        upstream_keys: (this.db.prepare(`SELECT * FROM upstream_keys WHERE revision > ?`).all(revision) as Row[]).map(
          (r) => toUpstreamKey(r, this.sealer),
        ),
      }))(),
    );
  }

  onChange(): () => void {
    return () => {};
  }

  async heartbeat(info: InstanceInfo): Promise<void> {
    const t = new TxBuilder();
    t.add(
      `INSERT INTO instances (instance_id, data_plane_url, admin_url, started_at, last_sync_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(instance_id) DO UPDATE SET last_sync_at = excluded.last_sync_at, data_plane_url = excluded.data_plane_url`,
      [info.instance_id, info.data_plane_url, info.admin_url, info.started_at, info.last_sync_at],
    );
    await this.write(t, 'NORMAL');
  }

  listInstances(): Promise<InstanceInfo[]> {
    return this.answer(
      () => this.db.prepare(`SELECT * FROM instances ORDER BY last_sync_at DESC`).all() as InstanceInfo[],
    );
  }

  // --- production keys at rest (sealed-columns.ts) ---------------------------------------------
  useSealer(sealer: SecretSealer): void {
    this.sealer = sealer;
  }

  secretsAtRest(): Promise<SecretsAtRest> {
    return this.answer(() => sqliteSecretsAtRest(this.db));
  }

  /** Then the file is rebuilt (VACUUM) and the WAL emptied: no old copy of the plain text stays in free pages. */
  async sealPlaintextSecrets(): Promise<number> {
    const tx = this.read(() => sealPlaintextTx(this.db, this.sealer));
    if (!tx) return 0;
    await this.write(tx.t);
    this.read(() => {
      this.db.pragma('busy_timeout = 10000');
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.pragma(`busy_timeout = ${READ_BUSY_MS}`);
    });
    return tx.count;
  }

  async rewrapSecrets(limit: number): Promise<number> {
    const tx = this.read(() => rewrapTx(this.db, this.sealer, limit));
    await this.write(tx.t);
    return tx.count;
  }

  // --- admin audit (admin/admin-audit.ts) -------------------------------------------------------
  async appendAdminAudit(row: AdminAuditRow): Promise<void> {
    const t = new TxBuilder();
    t.add(
      `INSERT INTO admin_audit (${ADMIN_AUDIT_COLUMNS.join(', ')}) VALUES (${marks(ADMIN_AUDIT_COLUMNS.length)})`,
      adminAuditValues(row),
    );
    await this.write(t);
  }

  queryAdminAudit(filter: AdminAuditFilter, limit: number): Promise<AdminAuditRow[]> {
    const { sql, params } = adminAuditWhere(
      filter,
      () => '?',
      (p) => `EXISTS (SELECT 1 FROM json_each(targets) WHERE value = ${p})`,
    );
    return this.answer(() =>
      (this.db.prepare(`SELECT * FROM admin_audit ${sql} ORDER BY id LIMIT ?`).all(...params, limit) as Row[]).map(
        toAdminAuditRow,
      ),
    );
  }
}
