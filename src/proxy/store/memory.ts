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
import { pageOf, perVaultKey, summaryOf } from './memory-audit.js';
import { syncAnswer } from './sync-answer.js';

/**
 * A store that lives in the proxy's memory and dies with it: for `tourniquet demo`, which is
 * ephemeral and must run where better-sqlite3's native module was never built (npm skips a
 * dependency's install script unless allowed). It keeps every rule of ProxyStore but one on
 * purpose: "durable" means durable for the life of the process. It answers every query
 * exactly as the SQLite store does (test/proxy/store-contract.test.ts runs both side by side).
 * Records are copied in and out, so a caller can never change stored state by mutating one.
 */
type Stamped<T> = { rec: T; revision: number };

const copyKey = (k: VaultKeyRecord): VaultKeyRecord => ({
  ...k,
  // The SQLite schema keeps these two labels and nothing else.
  labels: {
    ...(k.labels.agent ? { agent: k.labels.agent } : {}),
    ...(k.labels.owner ? { owner: k.labels.owner } : {}),
  },
  allowed_endpoints: k.allowed_endpoints ? [...k.allowed_endpoints] : null,
});
const byCreation = <T extends { created_at: string; id: string }>(a: T, b: T) =>
  a.created_at < b.created_at ? -1 : a.created_at > b.created_at ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

export class MemoryStore implements ProxyStore {
  readonly kind = 'memory';
  private rev = 0;
  private readonly vault = new Map<string, Stamped<VaultKeyRecord>>();
  private readonly hashes = new Set<string>();
  private readonly upstream = new Map<string, Stamped<UpstreamKeyRecord>>();
  private readonly audit: AuditRow[] = [];
  private readonly byCallId = new Map<string, AuditRow>();
  private readonly instances = new Map<string, InstanceInfo>();
  private closed = false;

  async init(): Promise<void> {}

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private open(): void {
    if (this.closed) throw new Error('the memory store is closed');
  }

  private bump(): number {
    return ++this.rev;
  }

  revision(): Promise<number> {
    return Promise.resolve(this.rev);
  }

  private checkNew(rec: VaultKeyRecord): void {
    this.open();
    if (this.vault.has(rec.id)) throw new Error(`UNIQUE constraint failed: vault_keys.id (${rec.id})`);
    if (this.hashes.has(rec.secret_hash)) throw new Error('UNIQUE constraint failed: vault_keys.secret_hash');
  }

  private put(rec: VaultKeyRecord, revision: number): void {
    this.vault.set(rec.id, { rec: copyKey(rec), revision });
    this.hashes.add(rec.secret_hash);
  }

  insertVaultKey(rec: VaultKeyRecord): Promise<void> {
    return syncAnswer(() => {
      this.checkNew(rec);
      this.put(rec, this.bump());
    });
  }

  getVaultKey(id: string): Promise<VaultKeyRecord | undefined> {
    return syncAnswer(() => {
      this.open();
      const s = this.vault.get(id);
      return s ? copyKey(s.rec) : undefined;
    });
  }

  listVaultKeys(f: VaultKeyFilter): Promise<VaultKeyRecord[]> {
    return syncAnswer(() => {
      this.open();
      const ids = f.ids ? new Set(f.ids) : null;
      return [...this.vault.values()]
        .map((s) => s.rec)
        .filter(
          (k) =>
            (f.vendor === undefined || k.vendor === f.vendor) &&
            (f.status === undefined || k.status === f.status) &&
            (f.agent === undefined || k.labels.agent === f.agent) &&
            (f.agent_run_id === undefined || k.agent_run_id === f.agent_run_id) &&
            (f.upstream_key_id === undefined || k.upstream_key_id === f.upstream_key_id) &&
            (ids === null || ids.has(k.id)),
        )
        .sort(byCreation)
        .map(copyKey);
    });
  }

  revokeVaultKeys(ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult> {
    return syncAnswer(() => {
      this.open();
      if (ids.length === 0) return { revoked: [], already_revoked: [], not_found: [] };
      const out: RevokeResult = { revoked: [], already_revoked: [], not_found: [], previous: {} };
      let revision = 0;
      for (const id of new Set(ids)) {
        const s = this.vault.get(id);
        if (!s) out.not_found.push(id);
        else if (s.rec.status === 'revoked') {
          out.already_revoked.push(id);
          out.previous![id] = { revoked_at: s.rec.revoked_at, revoke_mode: s.rec.revoke_mode, revision: s.revision };
        } else {
          revision ||= this.bump();
          this.vault.set(id, { rec: { ...s.rec, status: 'revoked', revoked_at: at, revoke_mode: mode }, revision });
          out.revoked.push(id);
        }
      }
      if (revision) out.revision = revision;
      return out;
    });
  }

  async rollVaultKey(oldId: string, next: VaultKeyRecord, revokeOld: boolean, at: string): Promise<number> {
    // Checked before anything changes: the two writes happen together or not at all.
    this.checkNew(next);
    this.put(next, this.bump());
    if (revokeOld) await this.revokeVaultKeys([oldId], at, 'soft');
    return this.rev;
  }

  insertUpstreamKey(rec: UpstreamKeyRecord): Promise<void> {
    return syncAnswer(() => {
      this.open();
      const revision = this.bump();
      const had = this.upstream.get(rec.id)?.rec;
      // Config-file keys are re-declared at every start: keep their state, refresh the rest.
      const next = had
        ? { ...had, hint: rec.hint, label: rec.label, account_sid: rec.account_sid, secret: rec.secret }
        : { ...rec };
      this.upstream.set(rec.id, { rec: next, revision });
    });
  }

  listUpstreamKeys(f: { vendor?: string }): Promise<UpstreamKeyRecord[]> {
    return syncAnswer(() => {
      this.open();
      return [...this.upstream.values()]
        .map((s) => s.rec)
        .filter((k) => f.vendor === undefined || k.vendor === f.vendor)
        .sort(byCreation)
        .map((k) => ({ ...k }));
    });
  }

  promoteUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return syncAnswer(() => {
      this.open();
      const target = this.upstream.get(id)?.rec;
      if (!target) return undefined;
      const revision = this.bump();
      for (const s of this.upstream.values())
        if (s.rec.vendor === target.vendor && s.rec.state === 'active' && s.rec.id !== id)
          this.upstream.set(s.rec.id, { rec: { ...s.rec, state: 'standby', updated_at: at }, revision });
      this.upstream.set(id, { rec: { ...target, state: 'active', updated_at: at }, revision });
      return { ...this.upstream.get(id)!.rec };
    });
  }

  retireUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined> {
    return syncAnswer(() => {
      this.open();
      const k = this.upstream.get(id)?.rec;
      if (!k) return undefined;
      this.upstream.set(id, { rec: { ...k, state: 'retired', updated_at: at }, revision: this.bump() });
      return { ...this.upstream.get(id)!.rec };
    });
  }

  appendAudit(rows: AuditRow[], outcomes: AuditOutcome[] = []): Promise<void> {
    return syncAnswer(() => {
      this.open();
      for (const r of rows) {
        if (r.call_id && this.byCallId.has(r.call_id)) continue; // a retried batch: written once
        const row: AuditRow = {
          call_id: null,
          outcome: 'complete',
          amount_usd_estimated: null,
          ...r,
          id: this.audit.length + 1,
        };
        this.audit.push(row);
        if (row.call_id) this.byCallId.set(row.call_id, row);
      }
      for (const o of outcomes) {
        const row = this.byCallId.get(o.call_id);
        if (row) Object.assign(row, { ...o, outcome: 'complete' });
      }
    });
  }

  sweepOutcomes(selfId: string): Promise<number> {
    return syncAnswer(() => {
      this.open();
      let n = 0;
      for (const r of this.audit)
        if (r.outcome === 'pending' && r.instance_id !== selfId) {
          r.outcome = 'unknown';
          n++;
        }
      return n;
    });
  }

  queryAudit(filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage> {
    return syncAnswer(() => {
      this.open();
      return pageOf(this.audit, filter, limit, cursor);
    });
  }

  summarizeAudit(filter: AuditFilter, revokedAt?: string): Promise<AuditSummary> {
    return syncAnswer(() => {
      this.open();
      return summaryOf(this.audit, filter, revokedAt);
    });
  }

  spendByVaultKey(from: string): Promise<Map<string, number>> {
    return syncAnswer(() => {
      this.open();
      return perVaultKey(
        this.audit,
        (r) => r.started_at >= from && r.policy_verdict === 'allowed',
        (r) => r.cost_usd_parsed ?? r.amount_usd_estimated ?? null, // as CHARGED_USD_SQL
      );
    });
  }

  callsByVaultKey(from: string, to: string): Promise<Map<string, number>> {
    return syncAnswer(() => {
      this.open();
      return perVaultKey(
        this.audit,
        (r) => r.started_at >= from && r.started_at < to,
        () => 1,
      );
    });
  }

  changesSince(revision: number): Promise<ChangeSet> {
    return syncAnswer(() => {
      this.open();
      // In revision order, as the SQLite store's revision index returns them.
      const newer = <T>(m: Map<string, Stamped<T>>) =>
        [...m.values()]
          .filter((s) => s.revision > revision)
          .sort((a, b) => a.revision - b.revision)
          .map((s) => s.rec);
      return {
        revision: this.rev,
        vault_keys: newer(this.vault).map(copyKey),
        upstream_keys: newer(this.upstream).map((k) => ({ ...k })),
      };
    });
  }

  onChange(): () => void {
    // One process, one writer: nobody else can change this store.
    return () => {};
  }

  heartbeat(info: InstanceInfo): Promise<void> {
    return syncAnswer(() => {
      this.open();
      const had = this.instances.get(info.instance_id);
      const { instance_id, data_plane_url, admin_url, started_at, last_sync_at } = info;
      this.instances.set(
        instance_id,
        had
          ? { ...had, last_sync_at, data_plane_url }
          : { instance_id, data_plane_url, admin_url, started_at, last_sync_at },
      );
    });
  }

  listInstances(): Promise<InstanceInfo[]> {
    return syncAnswer(() => {
      this.open();
      return [...this.instances.values()]
        .sort((a, b) => (a.last_sync_at > b.last_sync_at ? -1 : a.last_sync_at < b.last_sync_at ? 1 : 0))
        .map((i) => ({ ...i }));
    });
  }
}
