import Database from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import type {
  AuditFilter,
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
import { SQLITE_SCHEMA } from './sqlite-schema.js';
import { makeAppender, queryAudit, summarizeAudit, sumByKey } from './sqlite-audit.js';
import { AuditWorker } from './sqlite-audit-worker.js';

export interface SqliteOptions {
  /**
   * For audit rows (key changes are always fsynced).
   * 'full' (default): every commit is fsynced, so a row survives power loss, not only a crash.
   * 'normal': WAL without fsync per commit; a row survives SIGKILL of the proxy (it is in the
   * OS's hands) but not the machine losing power. Faster on disks with slow fsync.
   */
  sync?: 'full' | 'normal';
  /** Commit audit batches on a worker thread (default: on with sync=full; never for :memory:). */
  auditThread?: boolean;
}

import { fromVaultKey } from './sqlite-rows.js';
import { toUpstreamKey, toVaultKey, type Row } from './records.js';
import type { SecretSealer } from '../crypto/sealer.js';
import { sealedColumns, type SealedSecretStore, type SecretsAtRest } from './sealed-columns.js';
import { upgradeSqliteSchema } from './sqlite-schema-security.js';
import type { AdminAuditFilter, AdminAuditRow, AdminAuditStore } from '../admin/admin-audit.js';
import { ADMIN_AUDIT_COLUMNS, adminAuditValues, adminAuditWhere, toAdminAuditRow } from './admin-audit-sql.js';
import { sqliteRewrap, sqliteSealPlaintext, sqliteSecretsAtRest, storeMasterKeyId } from './sqlite-sealed.js';

/**
 * The embedded store: one SQLite file, WAL, synchronous=FULL, so every committed transaction
 * (a revoke, an audit batch) has been fsynced when the call returns. better-sqlite3 is
 * synchronous; the async methods exist so the PostgreSQL store can share the interface.
 */
export class SqliteStore implements ProxyStore, SealedSecretStore, AdminAuditStore {
  readonly kind = 'sqlite';
  private db!: Database.Database;
  private append!: (rows: AuditRow[]) => void;
  private worker: AuditWorker | null = null;
  private auditDb: Database.Database | null = null;
  private sealer: SecretSealer | null = null;

  constructor(
    private readonly path: string,
    private readonly opts: SqliteOptions = {},
  ) {}

  async init(): Promise<void> {
    const fresh = this.path !== ':memory:' && !existsSync(this.path);
    this.db = new Database(this.path);
    // The file may hold production keys added through the admin API: owner-only.
    if (fresh) chmodSync(this.path, 0o600);
    this.db.pragma('journal_mode = WAL');
    // Key changes (a revoke, a promote) are always fsynced; `sync` applies to audit rows only.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 10000');
    this.db.exec(SQLITE_SCHEMA);
    upgradeSqliteSchema(this.db);
    const sync = this.opts.sync === 'normal' ? 'NORMAL' : 'FULL';
    // The thread pays off only when commits wait for fsync; without it an in-thread insert is cheaper.
    const thread = this.path !== ':memory:' && (this.opts.auditThread ?? sync === 'FULL');
    if (thread) this.worker = new AuditWorker(this.path, sync);
    else if (sync === 'NORMAL' && this.path !== ':memory:') {
      this.auditDb = new Database(this.path);
      this.auditDb.pragma('synchronous = NORMAL');
      this.auditDb.pragma('busy_timeout = 10000');
      this.append = makeAppender(this.auditDb);
    } else this.append = makeAppender(this.db);
  }

  async close(): Promise<void> {
    await this.worker?.close();
    if (this.auditDb?.open) this.auditDb.close();
    if (this.db?.open) this.db.close();
  }

  private bump(): number {
    const row = this.db.prepare(`UPDATE meta SET v = CAST(v AS INTEGER) + 1 WHERE k = 'revision' RETURNING v`).get() as { v: string };
    return Number(row.v);
  }

  async revision(): Promise<number> {
    return Number((this.db.prepare(`SELECT v FROM meta WHERE k = 'revision'`).get() as { v: string }).v);
  }

  private insertVaultKeySync(rec: VaultKeyRecord): void {
    const row = fromVaultKey(rec, this.bump());
    const cols = Object.keys(row);
    this.db.prepare(`INSERT INTO vault_keys (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})`).run(row);
  }

  async insertVaultKey(rec: VaultKeyRecord): Promise<void> {
    this.db.transaction(() => this.insertVaultKeySync(rec)).immediate();
  }

  async getVaultKey(id: string): Promise<VaultKeyRecord | undefined> {
    const r = this.db.prepare(`SELECT * FROM vault_keys WHERE id = ?`).get(id) as Row | undefined;
    return r ? toVaultKey(r) : undefined;
  }

  async listVaultKeys(f: VaultKeyFilter): Promise<VaultKeyRecord[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v !== undefined) (parts.push(`${col} = ?`), params.push(v));
    };
    eq('vendor', f.vendor);
    eq('status', f.status);
    eq('agent', f.agent);
    eq('agent_run_id', f.agent_run_id);
    eq('upstream_key_id', f.upstream_key_id);
    if (f.ids) (parts.push(`id IN (${f.ids.map(() => '?').join(',') || 'NULL'})`), params.push(...f.ids));
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    return (this.db.prepare(`SELECT * FROM vault_keys ${where} ORDER BY created_at, id`).all(...params) as Row[]).map(toVaultKey);
  }

  private revokeSync(ids: string[], at: string, mode: 'soft' | 'hard'): RevokeResult {
    const out: RevokeResult = { revoked: [], already_revoked: [], not_found: [] };
    const get = this.db.prepare(`SELECT status FROM vault_keys WHERE id = ?`);
    const upd = this.db.prepare(`UPDATE vault_keys SET status = 'revoked', revoked_at = ?, revoke_mode = ?, revision = ? WHERE id = ?`);
    let revision = 0;
    for (const id of ids) {
      const r = get.get(id) as { status: string } | undefined;
      if (!r) out.not_found.push(id);
      else if (r.status === 'revoked') out.already_revoked.push(id);
      else {
        revision ||= this.bump();
        upd.run(at, mode, revision, id);
        out.revoked.push(id);
      }
    }
    return out;
  }

  async revokeVaultKeys(ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult> {
    return this.db.transaction(() => this.revokeSync(ids, at, mode)).immediate();
  }

  async rollVaultKey(oldId: string, next: VaultKeyRecord, revokeOld: boolean, at: string): Promise<void> {
    this.db.transaction(() => {
      this.insertVaultKeySync(next);
      if (revokeOld) this.revokeSync([oldId], at, 'soft');
    }).immediate();
  }

  async insertUpstreamKey(rec: UpstreamKeyRecord): Promise<void> {
    if (rec.secret !== null) await this.sealer?.prepare(storeMasterKeyId(this.db));
    this.db.transaction(() => {
      const { secret: _plain, ...fields } = rec;
      const row = { ...fields, ...sealedColumns(rec, this.sealer, storeMasterKeyId(this.db)), revision: this.bump() };
      const cols = Object.keys(row);
      // Config-file keys are re-declared at every start: keep their state, refresh the rest.
      this.db
        .prepare(
          `INSERT INTO upstream_keys (${cols.join(', ')}) VALUES (${cols.map((c) => '@' + c).join(', ')})
           ON CONFLICT(id) DO UPDATE SET hint = excluded.hint, label = excluded.label, account_sid = excluded.account_sid,
             secret = excluded.secret, secret_ct = excluded.secret_ct, secret_dek = excluded.secret_dek,
             master_key_id = excluded.master_key_id, revision = excluded.revision`,
        )
        .run(row);
    }).immediate();
  }

  async listUpstreamKeys(f: { vendor?: string }): Promise<UpstreamKeyRecord[]> {
    const rows = f.vendor
      ? this.db.prepare(`SELECT * FROM upstream_keys WHERE vendor = ? ORDER BY created_at, id`).all(f.vendor)
      : this.db.prepare(`SELECT * FROM upstream_keys ORDER BY created_at, id`).all();
    return (rows as Row[]).map((r) => toUpstreamKey(r, this.sealer));
  }

  private getUpstream(id: string): UpstreamKeyRecord | undefined {
    const r = this.db.prepare(`SELECT * FROM upstream_keys WHERE id = ?`).get(id) as Row | undefined;
    return r ? toUpstreamKey(r, this.sealer) : undefined;
  }

  async promoteUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.db.transaction(() => {
      const k = this.getUpstream(id);
      if (!k) return undefined;
      const rev = this.bump();
      this.db
        .prepare(`UPDATE upstream_keys SET state = 'standby', updated_at = ?, revision = ? WHERE vendor = ? AND state = 'active' AND id <> ?`)
        .run(at, rev, k.vendor, id);
      this.db.prepare(`UPDATE upstream_keys SET state = 'active', updated_at = ?, revision = ? WHERE id = ?`).run(at, rev, id);
      return this.getUpstream(id);
    }).immediate();
  }

  async retireUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.db.transaction(() => {
      if (!this.getUpstream(id)) return undefined;
      this.db.prepare(`UPDATE upstream_keys SET state = 'retired', updated_at = ?, revision = ? WHERE id = ?`).run(at, this.bump(), id);
      return this.getUpstream(id);
    }).immediate();
  }

  async appendAudit(rows: AuditRow[]): Promise<void> {
    if (!rows.length) return;
    if (this.worker) await this.worker.append(rows);
    else this.append(rows);
  }

  async queryAudit(filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage> {
    return queryAudit(this.db, filter, limit, cursor);
  }

  async summarizeAudit(filter: AuditFilter): Promise<AuditSummary> {
    return summarizeAudit(this.db, filter);
  }

  async spendByVaultKey(from: string): Promise<Map<string, number>> {
    return sumByKey(
      this.db,
      `SELECT vault_key_id AS k, SUM(cost_usd_parsed) AS v FROM agent_call_audit
       WHERE started_at >= ? AND policy_verdict = 'allowed' AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
      [from],
    );
  }

  async callsByVaultKey(from: string, to: string): Promise<Map<string, number>> {
    return sumByKey(
      this.db,
      `SELECT vault_key_id AS k, COUNT(*) AS v FROM agent_call_audit
       WHERE started_at >= ? AND started_at < ? AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
      [from, to],
    );
  }

  async changesSince(revision: number): Promise<ChangeSet> {
    return this.db.transaction(() => ({
      revision: Number((this.db.prepare(`SELECT v FROM meta WHERE k = 'revision'`).get() as { v: string }).v),
      vault_keys: (this.db.prepare(`SELECT * FROM vault_keys WHERE revision > ?`).all(revision) as Row[]).map(toVaultKey),
      upstream_keys: (this.db.prepare(`SELECT * FROM upstream_keys WHERE revision > ?`).all(revision) as Row[]).map((r) => toUpstreamKey(r, this.sealer)),
    }))();
  }

  onChange(): () => void {
    return () => {};
  }

  async heartbeat(info: InstanceInfo): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO instances (instance_id, data_plane_url, admin_url, started_at, last_sync_at)
         VALUES (@instance_id, @data_plane_url, @admin_url, @started_at, @last_sync_at)
         ON CONFLICT(instance_id) DO UPDATE SET last_sync_at = excluded.last_sync_at, data_plane_url = excluded.data_plane_url`,
      )
      .run(info);
  }

  async listInstances(): Promise<InstanceInfo[]> {
    return this.db.prepare(`SELECT * FROM instances ORDER BY last_sync_at DESC`).all() as InstanceInfo[];
  }

  // --- production keys at rest (sealed-columns.ts) ---------------------------------------------
  useSealer(sealer: SecretSealer): void {
    this.sealer = sealer;
  }

  async secretsAtRest(): Promise<SecretsAtRest> {
    return sqliteSecretsAtRest(this.db);
  }

  async sealPlaintextSecrets(): Promise<number> {
    if (!this.sealer) throw new Error('no sealer attached to the store');
    return sqliteSealPlaintext(this.db, this.sealer);
  }

  async rewrapSecrets(): Promise<number> {
    if (!this.sealer) throw new Error('no sealer attached to the store');
    return sqliteRewrap(this.db, this.sealer);
  }

  // --- admin audit (admin/admin-audit.ts) -------------------------------------------------------
  async appendAdminAudit(row: AdminAuditRow): Promise<void> {
    this.db.prepare(`INSERT INTO admin_audit (${ADMIN_AUDIT_COLUMNS.join(', ')}) VALUES (${ADMIN_AUDIT_COLUMNS.map(() => '?').join(', ')})`).run(...adminAuditValues(row));
  }

  async queryAdminAudit(filter: AdminAuditFilter, limit: number): Promise<AdminAuditRow[]> {
    const { sql, params } = adminAuditWhere(filter, () => '?', (p) => `EXISTS (SELECT 1 FROM json_each(targets) WHERE value = ${p})`);
    return (this.db.prepare(`SELECT * FROM admin_audit ${sql} ORDER BY id LIMIT ?`).all(...params, limit) as Row[]).map(toAdminAuditRow);
  }
}
