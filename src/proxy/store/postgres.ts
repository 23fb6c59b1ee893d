import type {
  AckingStore,
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
import { UPSTREAM_COLUMNS, VAULT_COLUMNS, toInstance, unavailable, vaultKeyValues } from './postgres-rows.js';
import { toUpstreamKey, toVaultKey, type Row } from './records.js';
import type { SecretSealer } from '../crypto/sealer.js';
import { sealedColumns, type SealedSecretStore, type SecretsAtRest } from './sealed-columns.js';
import { pgRewrap, pgSealPlaintext, pgSecretsAtRest, pgStoreMasterKeyId } from './postgres-sealed.js';
import type { AdminAuditFilter, AdminAuditRow, AdminAuditStore } from '../admin/admin-audit.js';
import { ADMIN_AUDIT_COLUMNS, adminAuditValues, adminAuditWhere, toAdminAuditRow } from './admin-audit-sql.js';
import {
  pgGrantCalls,
  pgGrantUsd,
  pgReturnGrants,
  type BudgetStore,
  type CallGrant,
  type UsdGrant,
} from './postgres-budget.js';
import { APPEND_SQL, appendParams, pruneAuditBefore, queryAudit, summarizeAudit, sumByKey } from './postgres-audit.js';
import { CHANGE_CHANNEL, MAX_HINT } from './postgres-listen.js';
import { CHARGED_USD_SQL } from './audit-shared.js';
import { PgConnection, placeholders, type Tx } from './postgres-pool.js';

export type { PostgresStoreOptions } from './postgres-pool.js';

/**
 * The fleet store: any number of proxy instances on one PostgreSQL database. Every change to
 * vault or production keys bumps one revision row (its row lock orders the writers, so a
 * reader that has seen revision R has seen every change up to R) and NOTIFYs the revision in
 * the same transaction. Audit batches are one multi-row INSERT each, durable on COMMIT.
 */
export class PostgresStore
  extends PgConnection
  implements ProxyStore, AckingStore, SealedSecretStore, AdminAuditStore, BudgetStore
{
  readonly kind = 'postgres';
  private sealer: SecretSealer | null = null;

  override async init(): Promise<void> {
    await super.init();
    // Each start registers a new instance id: forget the ones silent for a day.
    await this.q(`DELETE FROM proxy_instances WHERE heartbeat_at < now() - interval '1 day'`);
  }

  async revision(): Promise<number> {
    return Number((await this.q('SELECT revision FROM tourniquet_meta WHERE id = 1')).rows[0]?.revision ?? 0);
  }

  private async insertVaultKeyTx(c: Tx, rec: VaultKeyRecord): Promise<void> {
    const values = vaultKeyValues(rec, await this.bump(c));
    // (a retry after a lost COMMIT acknowledgement finds its own row: nothing to do)
    await c.query(
      `INSERT INTO vault_keys (${VAULT_COLUMNS.join(', ')}) VALUES (${placeholders(values.length)}) ON CONFLICT (id) DO NOTHING`,
      values,
    );
  }

  async insertVaultKey(rec: VaultKeyRecord): Promise<void> {
    await this.tx((c) => this.insertVaultKeyTx(c, rec));
  }

  async getVaultKey(id: string): Promise<VaultKeyRecord | undefined> {
    const r = (await this.q('SELECT * FROM vault_keys WHERE id = $1', [id])).rows[0];
    return r ? toVaultKey(r) : undefined;
  }

  async listVaultKeys(f: VaultKeyFilter): Promise<VaultKeyRecord[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    const eq = (col: string, v: string | undefined) => {
      if (v === undefined) return;
      params.push(v);
      parts.push(`${col} = $${params.length}`);
    };
    eq('vendor', f.vendor);
    eq('status', f.status);
    eq('agent', f.agent);
    eq('agent_run_id', f.agent_run_id);
    eq('upstream_key_id', f.upstream_key_id);
    if (f.ids) {
      params.push(f.ids);
      parts.push(`id = ANY($${params.length}::text[])`);
    }
    const where = parts.length ? `WHERE ${parts.join(' AND ')}` : '';
    return (await this.q(`SELECT * FROM vault_keys ${where} ORDER BY created_at, id`, params)).rows.map(toVaultKey);
  }

  private async revokeTx(c: Tx, ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult> {
    const out: RevokeResult = { revoked: [], already_revoked: [], not_found: [] };
    const found = new Map<string, string>();
    const rows = await c.query<{ id: string; status: string }>(
      'SELECT id, status FROM vault_keys WHERE id = ANY($1::text[]) FOR UPDATE',
      [ids],
    );
    for (const r of rows.rows) found.set(r.id, r.status);
    for (const id of new Set(ids)) {
      const s = found.get(id);
      if (s === undefined) out.not_found.push(id);
      else if (s === 'revoked') out.already_revoked.push(id);
      else out.revoked.push(id);
    }
    if (out.revoked.length) {
      const rev = await this.bump(c);
      await c.query(
        `UPDATE vault_keys SET status = 'revoked', revoked_at = $1, revoke_mode = $2, revision = $3 WHERE id = ANY($4::text[])`,
        [at, mode, rev, out.revoked],
      );
    }
    return out;
  }

  /**
   * The revoke is the latency that matters (it is what the other instances wait for), so it is
   * one autocommitted statement, one round trip: bump the revision (taking its lock first, as
   * every writer does), flip the rows still active, NOTIFY, and classify the ids. The
   * notification carries the revoked ids (when they fit in a payload), so the other instances
   * flip them in memory before they even fetch the change.
   */
  async revokeVaultKeys(ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult> {
    const out: RevokeResult = { revoked: [], already_revoked: [], not_found: [], previous: {} };
    if (ids.length === 0) return out;
    // Idempotent (rows already revoked keep their first revoked_at), so retried through a failover.
    const res = await this.retrying(() =>
      this.q(
        `WITH m AS (UPDATE tourniquet_meta SET revision = revision + 1 WHERE id = 1 RETURNING revision),
              before AS (SELECT id, status, revoked_at, revoke_mode, revision FROM vault_keys WHERE id = ANY($1::text[])),
              u AS (UPDATE vault_keys SET status = 'revoked', revoked_at = $2, revoke_mode = $3, revision = (SELECT revision FROM m)
                    WHERE id = ANY($1::text[]) AND status <> 'revoked' RETURNING id),
              hint AS (SELECT json_build_object('r', (SELECT revision FROM m), 'k', ARRAY(SELECT id FROM u), 'm', $3::text, 'at', $2::text)::text AS j)
         SELECT (SELECT revision FROM m) AS revision,
                pg_notify($4, CASE WHEN length((SELECT j FROM hint)) <= ${MAX_HINT} THEN (SELECT j FROM hint) ELSE (SELECT revision FROM m)::text END) AS notified,
                COALESCE((SELECT json_agg(before) FROM before), '[]') AS found, ARRAY(SELECT id FROM u) AS revoked`,
        [ids, at, mode, CHANGE_CHANNEL],
      ),
    );
    const row = res.rows[0] as {
      revision: number;
      found: Array<{ id: string; revoked_at: string | null; revoke_mode: 'soft' | 'hard' | null; revision: number }>;
      revoked: string[];
    };
    const found = new Map(row.found.map((f) => [f.id, f]));
    const revoked = new Set<string>(row.revoked);
    for (const id of new Set(ids)) {
      const f = found.get(id);
      if (revoked.has(id)) out.revoked.push(id);
      else if (!f) out.not_found.push(id);
      else {
        out.already_revoked.push(id);
        out.previous![id] = { revoked_at: f.revoked_at, revoke_mode: f.revoke_mode, revision: Number(f.revision) };
      }
    }
    if (out.revoked.length) out.revision = Number(row.revision);
    return out;
  }

  async rollVaultKey(oldId: string, next: VaultKeyRecord, revokeOld: boolean, at: string): Promise<number> {
    return this.tx(async (c) => {
      await this.insertVaultKeyTx(c, next);
      if (revokeOld) await this.revokeTx(c, [oldId], at, 'soft');
      return Number((await c.query<Row>('SELECT revision FROM tourniquet_meta WHERE id = 1')).rows[0]!.revision);
    });
  }

  async insertUpstreamKey(rec: UpstreamKeyRecord): Promise<void> {
    if (rec.secret !== null) await this.sealer?.prepare(await pgStoreMasterKeyId(this.pool).catch(unavailable));
    await this.tx(async (c) => {
      const { secret: _plain, ...fields } = rec;
      const sealed = sealedColumns(rec, this.sealer, rec.secret === null ? null : await pgStoreMasterKeyId(c));
      const row: Record<string, unknown> = { ...fields, ...sealed, revision: await this.bump(c) };
      const values = UPSTREAM_COLUMNS.map((k) => row[k] ?? null);
      // Config-file keys are re-declared at every start (by every instance): keep their state.
      await c.query(
        `INSERT INTO upstream_keys (${UPSTREAM_COLUMNS.join(', ')}) VALUES (${placeholders(values.length)})
         ON CONFLICT (id) DO UPDATE SET hint = excluded.hint, label = excluded.label, account_sid = excluded.account_sid,
           secret = excluded.secret, secret_ct = excluded.secret_ct, secret_dek = excluded.secret_dek,
           master_key_id = excluded.master_key_id, revision = excluded.revision`,
        values,
      );
    });
  }

  async listUpstreamKeys(f: { vendor?: string }): Promise<UpstreamKeyRecord[]> {
    const res = f.vendor
      ? await this.q('SELECT * FROM upstream_keys WHERE vendor = $1 ORDER BY created_at, id', [f.vendor])
      : await this.q('SELECT * FROM upstream_keys ORDER BY created_at, id');
    return res.rows.map((r) => toUpstreamKey(r, this.sealer));
  }

  async promoteUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.tx(async (c) => {
      const k = (await c.query<Row>('SELECT * FROM upstream_keys WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!k) return undefined;
      const rev = await this.bump(c);
      await c.query(
        `UPDATE upstream_keys SET state = 'standby', updated_at = $1, revision = $2 WHERE vendor = $3 AND state = 'active' AND id <> $4`,
        [at, rev, k.vendor, id],
      );
      const r = await c.query<Row>(
        `UPDATE upstream_keys SET state = 'active', updated_at = $1, revision = $2 WHERE id = $3 RETURNING *`,
        [at, rev, id],
      );
      return toUpstreamKey(r.rows[0]!, this.sealer);
    });
  }

  async retireUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return this.tx(async (c) => {
      if ((await c.query('SELECT 1 FROM upstream_keys WHERE id = $1 FOR UPDATE', [id])).rowCount === 0)
        return undefined;
      const r = await c.query<Row>(
        `UPDATE upstream_keys SET state = 'retired', updated_at = $1, revision = $2 WHERE id = $3 RETURNING *`,
        [at, await this.bump(c), id],
      );
      return toUpstreamKey(r.rows[0]!, this.sealer);
    });
  }

  /**
   * One statement for the whole batch (new rows and outcomes); autocommit, so the promise
   * resolves after COMMIT. Across a short outage (a database restart, a failover) it keeps
   * trying for `auditRetryMs`: the batch is idempotent (call_id), so a commit whose
   * acknowledgement was lost is not written twice.
   */
  async appendAudit(rows: AuditRow[], outcomes: AuditOutcome[] = []): Promise<void> {
    if (!rows.length && !outcomes.length) return;
    await this.retrying(() => this.q(APPEND_SQL, appendParams(rows, outcomes)), this.opts.auditRetryMs ?? 2_000);
  }

  /** Rows left pending by instances no longer in the registry: forwarded, outcome unknown. */
  async sweepOutcomes(selfId: string): Promise<number> {
    const ttl = (this.opts.instanceTtlMs ?? 5_000) / 1000;
    const res = await this.q(
      `UPDATE agent_call_audit SET outcome = 'unknown'
       WHERE outcome = 'pending' AND instance_id <> $1 AND started_at < now() - make_interval(secs => $2)
         AND instance_id NOT IN (SELECT instance_id FROM proxy_instances WHERE heartbeat_at > now() - make_interval(secs => $2))`,
      [selfId, ttl],
    );
    return res.rowCount ?? 0;
  }

  async queryAudit(filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage> {
    return queryAudit(this.pool, filter, limit, cursor).catch(unavailable);
  }

  async summarizeAudit(filter: AuditFilter, revokedAt?: string): Promise<AuditSummary> {
    return this.snapshot((c) => summarizeAudit(c, filter, revokedAt));
  }

  /** Drop audit rows older than `day` (YYYY-MM-DD, UTC). */
  async pruneAuditBefore(day: string): Promise<number> {
    return pruneAuditBefore(this.pool, day).catch(unavailable);
  }

  async spendByVaultKey(from: string): Promise<Map<string, number>> {
    return sumByKey(
      this.pool,
      `SELECT vault_key_id AS k, SUM(${CHARGED_USD_SQL}) AS v FROM agent_call_audit
       WHERE started_at >= $1 AND policy_verdict = 'allowed' AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
      [from],
    ).catch(unavailable);
  }

  async callsByVaultKey(from: string, to: string): Promise<Map<string, number>> {
    return sumByKey(
      this.pool,
      `SELECT vault_key_id AS k, COUNT(*) AS v FROM agent_call_audit
       WHERE started_at >= $1 AND started_at < $2 AND vault_key_id IS NOT NULL GROUP BY vault_key_id`,
      [from, to],
    ).catch(unavailable);
  }

  /**
   * One statement, so one snapshot and one round trip: the revision and exactly the rows it
   * covers (writers hold the revision row's lock until commit, so no change ≤ it is missing).
   */
  async changesSince(revision: number): Promise<ChangeSet> {
    const res = await this.q(
      `SELECT (SELECT revision FROM tourniquet_meta WHERE id = 1) AS revision,
              COALESCE((SELECT json_agg(v) FROM vault_keys v WHERE v.revision > $1), '[]') AS vault_keys,
              COALESCE((SELECT json_agg(u) FROM upstream_keys u WHERE u.revision > $1), '[]') AS upstream_keys`,
      [revision],
    );
    const r = res.rows[0] as {
      revision: number;
      vault_keys: Record<string, unknown>[];
      upstream_keys: Record<string, unknown>[];
    };
    return {
      revision: Number(r.revision),
      vault_keys: r.vault_keys.map(toVaultKey),
      upstream_keys: r.upstream_keys.map((u) => toUpstreamKey(u, this.sealer)),
    };
  }

  async heartbeat(info: InstanceInfo): Promise<void> {
    await this.q(
      `INSERT INTO proxy_instances (instance_id, data_plane_url, admin_url, started_at, last_sync_at, revision, heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (instance_id) DO UPDATE SET data_plane_url = excluded.data_plane_url, admin_url = excluded.admin_url,
         last_sync_at = excluded.last_sync_at, revision = excluded.revision, heartbeat_at = now()`,
      [info.instance_id, info.data_plane_url, info.admin_url, info.started_at, info.last_sync_at, info.revision ?? 0],
    );
  }

  /** Instances whose heartbeat is recent (by the database's clock, so instance clocks do not matter). */
  async listInstances(): Promise<Array<InstanceInfo & { revision: number }>> {
    const ttl = this.opts.instanceTtlMs ?? 5_000;
    const res = await this.q(
      `SELECT * FROM proxy_instances WHERE heartbeat_at > now() - make_interval(secs => $1) ORDER BY started_at, instance_id`,
      [ttl / 1000],
    );
    return res.rows.map(toInstance);
  }

  /** A stopping instance leaves the registry at once rather than after its TTL. */
  async deregister(instanceId: string): Promise<void> {
    await this.q('DELETE FROM proxy_instances WHERE instance_id = $1', [instanceId]);
  }

  // --- production keys at rest (sealed-columns.ts) ---------------------------------------------
  useSealer(sealer: SecretSealer): void {
    this.sealer = sealer;
  }

  async secretsAtRest(): Promise<SecretsAtRest> {
    return pgSecretsAtRest(this.pool).catch(unavailable);
  }

  async sealPlaintextSecrets(): Promise<number> {
    const sealer = this.sealer;
    if (!sealer) throw new Error('no sealer attached to the store');
    return this.tx((c) => pgSealPlaintext(c, sealer));
  }

  /** No revision bump: nothing any instance serves with changes, only how it is wrapped at rest. */
  async rewrapSecrets(limit: number): Promise<number> {
    const sealer = this.sealer;
    if (!sealer) throw new Error('no sealer attached to the store');
    return this.tx((c) => pgRewrap(c, sealer, limit));
  }

  // --- admin audit (admin/admin-audit.ts) -------------------------------------------------------
  async appendAdminAudit(row: AdminAuditRow): Promise<void> {
    await this.q(
      `INSERT INTO admin_audit (${ADMIN_AUDIT_COLUMNS.join(', ')}) VALUES (${placeholders(ADMIN_AUDIT_COLUMNS.length)})`,
      adminAuditValues(row),
    );
  }

  async queryAdminAudit(filter: AdminAuditFilter, limit: number): Promise<AdminAuditRow[]> {
    const { sql, params } = adminAuditWhere(
      filter,
      (i) => `$${i}`,
      (p) => `targets ? ${p}`,
    );
    const res = await this.q(`SELECT * FROM admin_audit ${sql} ORDER BY id LIMIT $${params.length + 1}`, [
      ...params,
      limit,
    ]);
    return res.rows.map(toAdminAuditRow);
  }

  // --- fleet-wide limits (postgres-budget.ts) ---------------------------------------------------
  grantUsd(keyId: string, instanceId: string, day: string, cap: number, want: number): Promise<UsdGrant> {
    return pgGrantUsd((t, v) => this.q(t, v), keyId, instanceId, day, cap, want);
  }

  grantCalls(keyId: string, instanceId: string, limit: number, want: number, windowS: number): Promise<CallGrant> {
    return pgGrantCalls((t, v) => this.q(t, v), keyId, instanceId, limit, want, windowS);
  }

  returnGrants(items: Array<{ id: number; used: number }>): Promise<void> {
    return pgReturnGrants((t, v) => this.q(t, v), items);
  }
}
