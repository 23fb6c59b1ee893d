import { randomUUID } from 'node:crypto';
import { lazyHttp, quickRequest } from './client.js';
import { expectRoute, type Route } from './schemas.js';
import type { UpstreamKey, VaultKeyView } from './answers.js';
import { instanceTrust } from './trust.js';
import { saysDurable, untilDurable } from './durable.js';
import type {
  AuditRowSummary,
  InstanceProbe,
  IssuedKey,
  IssueSpec,
  ProxyAdapter,
  ProxyInstance,
  RevokeOutcome,
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
  /** Total deadline of one admin API call (timeout_ms). */
  timeoutMs?: number;
  /** Origin patterns of instances trusted with the admin token (trusted_instances; see trust.ts). */
  trustedInstances?: string;
  /** Scrubs registered secrets from the labels sent to the proxy. */
  scrub?: (text: string) => string;
}

const POLICY_FIELDS: readonly (keyof VaultKeyView)[] = [
  'allowed_endpoints',
  'daily_usd_cap',
  'per_call_amount_cap',
  'calls_per_minute',
  'customer_id_path',
  'labels',
  'agent_run_id',
  'upstream_key_id',
];

export function toVaultKeySummary(r: VaultKeyView): VaultKeySummary {
  const policy: Record<string, unknown> = {};
  for (const f of POLICY_FIELDS) if (r[f] !== undefined && r[f] !== null) policy[f] = r[f];
  return {
    id: r.id,
    vendor: r.vendor,
    status: r.status,
    upstream_key_id: r.upstream_key_id ?? null,
    agent_run_id: r.agent_run_id ?? null,
    expires_at: r.expires_at ?? null,
    policy,
  };
}

const toUpstream = (r: UpstreamKey): UpstreamKeySummary => ({
  id: r.id,
  vendor: r.vendor,
  state: r.state,
  hint: r.hint,
  label: r.label ?? null,
});
const shape = <R extends Route>(route: R) => ({ expect: expectRoute(route) });

/** The admin token that made a change, as the proxy names it (`by`), when it does. */
const byOf = (b: { by?: unknown }): { by?: string } => (typeof b.by === 'string' ? { by: b.by } : {});

export function createTourniquetProxy(opts: TourniquetProxyOptions): ProxyAdapter {
  const ms = opts.timeoutMs ?? 5000;
  const admin = lazyHttp({
    baseUrl: opts.adminUrl,
    name: 'the proxy admin API',
    headers: { authorization: `Bearer ${opts.adminToken}` },
    trace: opts.trace,
    timeouts: { connectMs: ms, headersMs: ms, bodyMs: ms, totalMs: ms },
  });
  const quick = <R extends Route>(method: 'GET' | 'DELETE', url: string, accept: number[], route: R) =>
    quickRequest(
      method,
      url,
      { authorization: `Bearer ${opts.adminToken}` },
      { name: 'the proxy admin API', timeoutMs: ms, accept, trace: opts.trace, expect: expectRoute(route) },
    );
  const base = opts.adminUrl.replace(/\/$/, '');
  const enc = encodeURIComponent;
  const trust = instanceTrust(opts.adminUrl, opts.trustedInstances);
  const scrubLabels = (labels: Record<string, string> | undefined) =>
    labels && opts.scrub ? Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, opts.scrub!(v)])) : labels;

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
      audit: `GET ${base}/v1/audit`,
    };
    return calls[op] ?? `${op} at ${base}`;
  };

  function trustOf(
    r: { admin_url: string; data_plane_url: string },
    index: number,
  ): Pick<ProxyInstance, 'untrusted' | 'data_plane_untrusted'> {
    const out: Pick<ProxyInstance, 'untrusted' | 'data_plane_untrusted'> = {};
    if (index > 0 && !trust.admin(r.admin_url))
      out.untrusted = `its admin URL ${r.admin_url} is not trusted (trusted: ${trust.describe()}); it was not sent the admin token`;
    if (r.data_plane_url && !trust.dataPlane(r.data_plane_url))
      out.data_plane_untrusted = `its data-plane URL ${r.data_plane_url} is not trusted (not on the host of proxy_url, not in trusted_instances)`;
    return out;
  }

  return {
    kind: 'tourniquet',
    capabilities: {
      hardRevoke: true,
      revokeAllUnder: true,
      issue: true,
      roll: true,
      probe: true,
      upstreamKeys: true,
      audit: true,
    },
    describe,

    // The reason stays in our journal: the admin API refuses fields it does not know.
    async revokeVaultKey(id, { hard }): Promise<RevokeOutcome> {
      const url = `${base}/v1/vault-keys/${enc(id)}${hard ? '?hard=true' : ''}`;
      // C1: a 503 revoke_not_durable means the instance refuses the key but could not store the
      // revoke; the DELETE is idempotent, so it is repeated (bounded) until it is durable.
      const res = await untilDurable(
        base,
        () => quick('DELETE', url, [404, 503], 'DELETE /v1/vault-keys/{id}'),
        opts.trace,
      );
      if (res.status === 404) return { status: 'not-found', vault_key_id: id };
      const b = res.body;
      // `by`: the name of the admin token that made this call (scoped tokens), for the journal.
      return {
        status: b.already_revoked ? 'already-revoked' : 'revoked',
        vault_key_id: id,
        effective_at: b.effective_at,
        ...byOf(b),
      };
    },

    async revokeAllUnder(filter, { hard }): Promise<RevokeOutcome[]> {
      // Repeated until durable (C1) with one idempotency key: it is the same request each time.
      const key = randomUUID();
      const call = () =>
        admin.post('/v1/vault-keys/revoke-all', {
          json: { ...filter, hard },
          idempotencyKey: key,
          accept: [503],
          retries: 0,
          ...shape('POST /v1/vault-keys/revoke-all'),
        });
      const b = (await untilDurable(base, call, opts.trace)).body;
      return [
        ...b.revoked.map((id) => ({
          status: 'revoked' as const,
          vault_key_id: id,
          effective_at: b.effective_at,
          ...byOf(b),
        })),
        ...(b.already_revoked ?? []).map((id) => ({
          status: 'already-revoked' as const,
          vault_key_id: id,
          effective_at: b.effective_at,
          ...byOf(b),
        })),
      ];
    },

    async listVaultKeys(filter) {
      const res = await admin.get('/v1/vault-keys', { query: filter, ...shape('GET /v1/vault-keys') });
      return res.body.data.map(toVaultKeySummary);
    },

    async getVaultKey(id) {
      const res = await admin.get(`/v1/vault-keys/${enc(id)}`, { accept: [404], ...shape('GET /v1/vault-keys/{id}') });
      return res.status === 404 ? undefined : toVaultKeySummary(res.body);
    },

    async issueVaultKey(spec: IssueSpec): Promise<IssuedKey> {
      const res = await admin.post('/v1/vault-keys', {
        json: { ...spec, labels: scrubLabels(spec.labels) },
        idempotencyKey: true,
        ...shape('POST /v1/vault-keys'),
      });
      const b = res.body;
      return { id: b.id, secret: b.secret, vendor: b.vendor, expires_at: b.expires_at };
    },

    async rollVaultKey(id, { revokeOld }): Promise<IssuedKey> {
      // One idempotency key for every repeat: a roll repeated after a 503 must not make a second key.
      const key = randomUUID();
      const call = () =>
        admin.post(`/v1/vault-keys/${enc(id)}/roll`, {
          json: { revoke_old: revokeOld },
          idempotencyKey: key,
          accept: [503],
          retries: 0,
          ...shape('POST /v1/vault-keys/{id}/roll'),
        });
      // With revoke_old the old key counts as revoked only when the answer says it is durable.
      const durable = (body: unknown) => !revokeOld || saysDurable((body as { revoked_old?: unknown }).revoked_old);
      const b = (await untilDurable(base, call, opts.trace, undefined, durable)).body as IssuedKey;
      return {
        id: b.id,
        secret: b.secret,
        vendor: b.vendor,
        expires_at: b.expires_at,
        rolled_from: b.rolled_from ?? id,
      };
    },

    async instances(): Promise<ProxyInstance[]> {
      const res = await quick('GET', `${base}/v1/instances`, [], 'GET /v1/instances');
      const rows = res.body.data;
      if (!rows.length) {
        const health = (await quick('GET', `${base}/v1/health`, [], 'GET /v1/health')).body;
        return [
          { instance_id: health.instance_id, data_plane_url: health.data_plane_url ?? '', admin_url: opts.adminUrl },
        ];
      }
      // The instance that answered lists itself first: asked through proxy_url, it needs no trust of its own.
      // Its own admin URL is still preferred when trusted: proxy_url may be shared by several instances
      // (`proxy serve --workers`, a load balancer), and a verdict must come from the instance it is about.
      return rows.map((r, i) => ({
        instance_id: r.instance_id,
        data_plane_url: r.data_plane_url,
        admin_url: i === 0 && !trust.admin(r.admin_url) ? opts.adminUrl : r.admin_url,
        ...trustOf(r, i),
      }));
    },

    async probeVaultKey(id, instance): Promise<InstanceProbe> {
      if (instance.untrusted)
        return {
          instance_id: instance.instance_id,
          refused: false,
          code: `untrusted_instance: ${instance.untrusted}`,
          final: true,
        };
      const adminBase = (instance.admin_url || opts.adminUrl).replace(/\/$/, '');
      const res = await quick(
        'GET',
        `${adminBase}/v1/vault-keys/${enc(id)}/verdict`,
        [],
        'GET /v1/vault-keys/{id}/verdict',
      );
      const b = res.body;
      // An answer about another key, or from another instance, proves nothing about this one.
      if (b.vault_key_id !== id)
        return {
          instance_id: instance.instance_id,
          refused: false,
          code: `wrong_answer: the verdict is about ${b.vault_key_id}`,
        };
      if (b.instance_id !== instance.instance_id)
        return {
          instance_id: instance.instance_id,
          refused: false,
          code: `wrong_answer: answered by instance ${b.instance_id}`,
        };
      return { instance_id: instance.instance_id, refused: b.refused === true, code: b.verdict };
    },

    async listUpstreamKeys(vendor) {
      const res = await admin.get('/v1/upstream-keys', { query: { vendor }, ...shape('GET /v1/upstream-keys') });
      return res.body.data.map(toUpstream);
    },

    async addUpstreamKey(input) {
      const res = await admin.post('/v1/upstream-keys', {
        json: { ...input, state: 'standby' },
        idempotencyKey: true,
        ...shape('POST /v1/upstream-keys'),
      });
      return toUpstream(res.body);
    },

    async promoteUpstreamKey(id) {
      return toUpstream(
        (
          await admin.post(`/v1/upstream-keys/${enc(id)}/promote`, {
            idempotencyKey: true,
            ...shape('POST /v1/upstream-keys/{id}/promote'),
          })
        ).body,
      );
    },

    async retireUpstreamKey(id) {
      return toUpstream(
        (
          await admin.post(`/v1/upstream-keys/${enc(id)}/retire`, {
            idempotencyKey: true,
            ...shape('POST /v1/upstream-keys/{id}/retire'),
          })
        ).body,
      );
    },

    async audit(filter): Promise<AuditRowSummary[]> {
      const res = await admin.get('/v1/audit', { query: filter, ...shape('GET /v1/audit') });
      return res.body.data as AuditRowSummary[];
    },
  };
}
