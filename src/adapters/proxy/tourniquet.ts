import { lazyHttp, quickRequest } from './client.js';
import type {
  AuditRowSummary,
  InstanceProbe,
  IssuedKey,
  IssueSpec,
  ProxyAdapter,
  ProxyInstance,
  RevokeOutcome,
  UpstreamCheck,
  UpstreamKeySummary,
  VaultKeySummary,
} from './types.js';

/**
 * Our own proxy's admin API (docs/admin-api.md). Every instance answers probes from its own
 * in-memory state, so a revoke is verified where agents are actually served.
 */
export interface TourniquetProxyOptions {
  adminUrl: string;
  adminToken: string;
  trace?: (line: string) => void;
  timeoutMs?: number;
}

const POLICY_FIELDS = ['allowed_endpoints', 'daily_usd_cap', 'per_call_amount_cap', 'calls_per_minute', 'customer_id_path', 'labels', 'agent_run_id', 'upstream_key_id'];

export function toVaultKeySummary(r: any): VaultKeySummary {
  const policy: Record<string, unknown> = {};
  for (const f of POLICY_FIELDS) if (r[f] !== undefined && r[f] !== null) policy[f] = r[f];
  return {
    id: String(r.id),
    vendor: String(r.vendor ?? ''),
    status: String(r.status ?? 'active'),
    upstream_key_id: r.upstream_key_id ?? null,
    agent_run_id: r.agent_run_id ?? null,
    expires_at: r.expires_at ?? null,
    policy,
  };
}

const toUpstream = (r: any): UpstreamKeySummary => ({ id: String(r.id), vendor: String(r.vendor), state: String(r.state), hint: String(r.hint ?? ''), label: r.label ?? null });
const listOf = (body: any): any[] => (Array.isArray(body) ? body : Array.isArray(body?.data) ? body.data : []);
const hasId = (b: any) => (b && typeof b.id === 'string' ? undefined : 'no "id" in the response');
const hasSecret = (b: any) => (b && typeof b.id === 'string' && typeof b.secret === 'string' ? undefined : 'no "id" and "secret" in the response');

export function createTourniquetProxy(opts: TourniquetProxyOptions): ProxyAdapter {
  const client = (baseUrl: string) =>
    lazyHttp({
      baseUrl,
      name: 'the proxy admin API',
      headers: { authorization: `Bearer ${opts.adminToken}` },
      trace: opts.trace,
      timeouts: opts.timeoutMs ? { connectMs: opts.timeoutMs, headersMs: opts.timeoutMs } : undefined,
    });
  const admin = client(opts.adminUrl);
  const quick = (method: 'GET' | 'DELETE', url: string, accept: number[]) =>
    quickRequest(method, url, { authorization: `Bearer ${opts.adminToken}` }, { name: 'the proxy admin API', timeoutMs: opts.timeoutMs ?? 5000, accept, trace: opts.trace });
  const base = opts.adminUrl.replace(/\/$/, '');
  const enc = encodeURIComponent;

  const describe = (op: string, a: Record<string, string | undefined> = {}): string => {
    const calls: Record<string, string> = {
      revoke: `DELETE ${base}/v1/vault-keys/${a.id}${a.hard === 'true' ? '?hard=true' : ''}`,
      'revoke-all': `POST ${base}/v1/vault-keys/revoke-all ${a.upstream_key_id ? `{"upstream_key_id":"${a.upstream_key_id}"}` : `{"vendor":"${a.vendor}"}`}`,
      list: `GET ${base}/v1/vault-keys`,
      issue: `POST ${base}/v1/vault-keys`,
      roll: `POST ${base}/v1/vault-keys/${a.id}/roll`,
      instances: `GET ${base}/v1/instances`,
      probe: `GET <each instance's admin API>/v1/vault-keys/${a.id}/verdict`,
      'list-upstream': `GET ${base}/v1/upstream-keys?vendor=${a.vendor}`,
      'add-upstream': `POST ${base}/v1/upstream-keys {"vendor":"${a.vendor}","state":"standby","secret":"[redacted]"}`,
      promote: `POST ${base}/v1/upstream-keys/${a.id}/promote`,
      retire: `POST ${base}/v1/upstream-keys/${a.id}/retire`,
      check: `POST ${base}/v1/upstream-keys/${a.id}/check`,
      audit: `GET ${base}/v1/audit`,
    };
    return calls[op] ?? `${op} at ${base}`;
  };

  return {
    kind: 'tourniquet',
    capabilities: { hardRevoke: true, revokeAllUnder: true, issue: true, roll: true, probe: true, upstreamKeys: true, audit: true },
    describe,

    // The reason stays in our journal: the admin API refuses fields it does not know.
    async revokeVaultKey(id, { hard }): Promise<RevokeOutcome> {
      const url = `${base}/v1/vault-keys/${enc(id)}${hard ? '?hard=true' : ''}`;
      const res = await quick('DELETE', url, [404]);
      if (res.status === 404) return { status: 'not-found', vault_key_id: id };
      const b = res.body ?? {};
      const effective_at = String(b.effective_at ?? b.revoked_at ?? new Date().toISOString());
      // `by`: the name of the admin token that made this call (scoped tokens), for the journal.
      return { status: b.already_revoked ? 'already-revoked' : 'revoked', vault_key_id: id, effective_at, ...(typeof b.by === 'string' ? { by: b.by } : {}) };
    },

    async revokeAllUnder(filter, { hard }): Promise<RevokeOutcome[]> {
      const b = (await admin.post('/v1/vault-keys/revoke-all', { json: { ...filter, hard }, idempotencyKey: true })).body ?? {};
      const at = String(b.effective_at ?? new Date().toISOString());
      const by = typeof b.by === 'string' ? { by: b.by } : {};
      const ids = (k: string): string[] => (Array.isArray(b[k]) ? b[k].map((x: any) => (typeof x === 'string' ? x : String(x.id))) : []);
      return [
        ...ids('revoked').map((id) => ({ status: 'revoked' as const, vault_key_id: id, effective_at: at, ...by })),
        ...ids('already_revoked').map((id) => ({ status: 'already-revoked' as const, vault_key_id: id, effective_at: at, ...by })),
      ];
    },

    async listVaultKeys(filter) {
      const res = await admin.get('/v1/vault-keys', { query: filter });
      return listOf(res.body).map(toVaultKeySummary);
    },

    async getVaultKey(id) {
      const res = await admin.get(`/v1/vault-keys/${enc(id)}`, { accept: [404] });
      return res.status === 404 ? undefined : toVaultKeySummary(res.body);
    },

    async issueVaultKey(spec: IssueSpec): Promise<IssuedKey> {
      const res = await admin.post('/v1/vault-keys', { json: spec, idempotencyKey: true, expect: hasSecret });
      const b = res.body;
      return { id: b.id, secret: b.secret, vendor: b.vendor ?? spec.vendor, expires_at: b.expires_at ?? null };
    },

    async rollVaultKey(id, { revokeOld }): Promise<IssuedKey> {
      const res = await admin.post(`/v1/vault-keys/${enc(id)}/roll`, { json: { revoke_old: revokeOld }, idempotencyKey: true, expect: hasSecret });
      const b = res.body;
      return { id: b.id, secret: b.secret, vendor: b.vendor ?? '', expires_at: b.expires_at ?? null, rolled_from: b.rolled_from ?? id };
    },

    async instances(): Promise<ProxyInstance[]> {
      const res = await quick('GET', `${base}/v1/instances`, [404]);
      const rows = res.status === 404 ? [] : listOf(res.body);
      if (rows.length) return rows.map((r) => ({ instance_id: r.instance_id, data_plane_url: r.data_plane_url, admin_url: r.admin_url }));
      const health = (await quick('GET', `${base}/v1/health`, [])).body ?? {};
      return [{ instance_id: health.instance_id ?? 'default', data_plane_url: health.data_plane_url ?? '', admin_url: opts.adminUrl }];
    },

    async probeVaultKey(id, instance): Promise<InstanceProbe> {
      const adminBase = (instance.admin_url || opts.adminUrl).replace(/\/$/, '');
      const res = await quick('GET', `${adminBase}/v1/vault-keys/${enc(id)}/verdict`, [404]);
      const b = res.body ?? {};
      if (res.status === 404) return { instance_id: instance.instance_id, refused: true, code: 'vault_key_unknown' };
      const code = String(b.verdict ?? b.code ?? 'unknown');
      return { instance_id: String(b.instance_id ?? instance.instance_id), refused: b.refused ?? code !== 'allowed', code };
    },

    async listUpstreamKeys(vendor) {
      const res = await admin.get('/v1/upstream-keys', { query: { vendor } });
      return listOf(res.body).map(toUpstream);
    },

    async addUpstreamKey(input) {
      const res = await admin.post('/v1/upstream-keys', { json: { ...input, state: 'standby' }, idempotencyKey: true, expect: hasId });
      return toUpstream(res.body);
    },

    async promoteUpstreamKey(id) {
      return toUpstream((await admin.post(`/v1/upstream-keys/${enc(id)}/promote`, { idempotencyKey: true, expect: hasId })).body);
    },

    async retireUpstreamKey(id) {
      return toUpstream((await admin.post(`/v1/upstream-keys/${enc(id)}/retire`, { idempotencyKey: true, expect: hasId })).body);
    },

    async checkUpstreamKey(id): Promise<UpstreamCheck> {
      const b = (await admin.post(`/v1/upstream-keys/${enc(id)}/check`, { idempotencyKey: true })).body ?? {};
      return { upstream_key_id: id, works: b.works === true, vendor_status: Number(b.vendor_status ?? 0) };
    },

    async audit(filter): Promise<AuditRowSummary[]> {
      const res = await admin.get('/v1/audit', { query: filter });
      return listOf(res.body) as AuditRowSummary[];
    },
  };
}
