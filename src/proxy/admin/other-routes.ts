import type { ProxyService } from '../service.js';
import { upstreamView } from '../service.js';
import type { UsageTracker } from '../usage.js';
import type { AuditFilter, InstanceInfo } from '../store/types.js';
import { ApiError, isoTime, validate, validateQuery, type Spec } from './validate.js';
import { readJson, route, type Route } from './http.js';
import type { HealthStatus } from '../health.js';

export interface InstanceFacts {
  instanceId: string;
  dataUrl: () => string;
  adminUrl: () => string;
  startedAt: string;
  lastSyncAt: () => string;
  /** C2: ok, store_unavailable, disk_full or stale, and why. */
  status: () => { status: HealthStatus; reason: string | null };
  /** Counters worth watching: pending revokes, audit backlog and drops, stalls. */
  extra?: () => Record<string, number>;
}

const AUDIT_FILTER_SPEC: Spec = {
  vault_key_id: { type: 'string' },
  agent_run_id: { type: 'string' },
  customer_scope_id: { type: 'string' },
  verdict: { type: 'string' },
  vendor: { type: 'string' },
  from: { type: 'string', check: isoTime('from') },
  to: { type: 'string', check: isoTime('to') },
};

function auditFilter(q: Record<string, unknown>): AuditFilter {
  const iso = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString() : undefined);
  return {
    vault_key_id: q.vault_key_id as string | undefined,
    agent_run_id: q.agent_run_id as string | undefined,
    customer_scope_id: q.customer_scope_id as string | undefined,
    verdict: q.verdict as string | undefined,
    vendor: q.vendor as string | undefined,
    from: iso(q.from),
    to: iso(q.to),
  };
}

export function upstreamRoutes(svc: ProxyService, usage: UsageTracker, startedAt: string): Route[] {
  return [
    route('POST', '/v1/upstream-keys', async ({ req }) => {
      const body = validate<{
        vendor: string;
        secret: string;
        state?: 'active' | 'standby';
        label?: string;
        account_sid?: string;
      }>(await readJson(req), {
        vendor: { type: 'string', required: true },
        secret: { type: 'string', required: true },
        state: { type: 'string', enum: ['active', 'standby'] },
        label: { type: 'string' },
        account_sid: { type: 'string' },
      });
      return [201, upstreamView(await svc.addUpstream(body))];
    }),
    route('GET', '/v1/upstream-keys', async ({ url }) => {
      const q = validateQuery<{ vendor?: string }>(url.searchParams, { vendor: { type: 'string' } });
      // last_used_at is this instance's memory since usage_since (its start): `tourniquet keys` asks every instance.
      const data = (await svc.store.listUpstreamKeys(q)).map((u) => ({
        ...upstreamView(u),
        last_used_at: usage.upstreamLastUsed(u.id),
      }));
      return [200, { data, usage_since: startedAt }];
    }),
    route('POST', '/v1/upstream-keys/{id}/promote', async ({ req, params }) => {
      validate(await readJson(req), {});
      const rec = await svc.promote(params[0]!);
      if (!rec) throw new ApiError(404, 'not_found', `no production key ${params[0]}`);
      return [200, upstreamView(rec)];
    }),
    route('POST', '/v1/upstream-keys/{id}/retire', async ({ req, params }) => {
      validate(await readJson(req), {});
      const rec = await svc.retire(params[0]!);
      if (!rec) throw new ApiError(404, 'not_found', `no production key ${params[0]}`);
      return [200, upstreamView(rec)];
    }),
  ];
}

export function auditRoutes(svc: ProxyService, usage: UsageTracker, facts: InstanceFacts): Route[] {
  let baseline: { at: number; map: Map<string, number> } | null = null;
  async function baselines(now: number): Promise<Map<string, number>> {
    // Baseline: calls per minute over the hour before the last ten minutes; cached briefly.
    if (!baseline || now - baseline.at > 30_000) {
      const map = await svc.store.callsByVaultKey(
        new Date(now - 70 * 60_000).toISOString(),
        new Date(now - 10 * 60_000).toISOString(),
      );
      baseline = { at: now, map };
    }
    return baseline.map;
  }
  return [
    route('GET', '/v1/audit', async ({ url }) => {
      const q = validateQuery<Record<string, unknown>>(url.searchParams, {
        ...AUDIT_FILTER_SPEC,
        limit: { type: 'integer', min: 1 },
        cursor: { type: 'string' },
      });
      const limit = Math.min(Number(q.limit ?? 100), 1000);
      try {
        return [200, await svc.store.queryAudit(auditFilter(q), limit, (q.cursor as string | undefined) ?? null)];
      } catch (err) {
        if (err instanceof RangeError)
          throw new ApiError(400, 'invalid_request', 'cursor is not one this API returned', 'cursor');
        throw err;
      }
    }),
    route('GET', '/v1/audit/summary', async ({ url }) => {
      const q = validateQuery<Record<string, unknown>>(url.searchParams, {
        ...AUDIT_FILTER_SPEC,
        revoked_at: { type: 'string', check: isoTime('revoked_at') },
      });
      const revokedAt = typeof q.revoked_at === 'string' ? new Date(q.revoked_at).toISOString() : undefined;
      return [200, await svc.store.summarizeAudit(auditFilter(q), revokedAt)];
    }),
    route('GET', '/v1/rates', async () => {
      const now = Date.now();
      const base = await baselines(now);
      const data = [];
      for (const k of svc.state.vaultKeys()) {
        const perMin = usage.perMinute(k.id, now);
        const b = (base.get(k.id) ?? 0) / 60;
        if (k.status === 'revoked' && perMin === 0) continue;
        data.push({
          vault_key_id: k.id,
          agent: k.labels.agent ?? null,
          agent_run_id: k.agent_run_id,
          vendor: k.vendor,
          status: k.status,
          calls_per_minute: perMin,
          baseline_per_minute: Math.round(b * 1000) / 1000,
          spend_usd_10m: Math.round(usage.spent10m(k.id, now) * 1e6) / 1e6,
        });
      }
      return [200, { data, at: new Date(now).toISOString() }];
    }),
    route('GET', '/v1/health', () => {
      const h = facts.status();
      return [
        h.status === 'ok' ? 200 : 503,
        {
          status: h.status,
          reason: h.reason,
          instance_id: facts.instanceId,
          data_plane_url: facts.dataUrl(),
          admin_url: facts.adminUrl(),
          store: svc.store.kind,
          revision: svc.state.revision,
          last_sync_at: facts.lastSyncAt(),
          revocation_state_changed_at: svc.state.revocationChangedAt,
          started_at: facts.startedAt,
          in_flight: svc.inflight.count(),
          ...facts.extra?.(),
        },
      ];
    }),
    route('GET', '/v1/instances', async () => {
      const rows: InstanceInfo[] = await svc.store.listInstances();
      // This instance answers from memory (its row is up to one heartbeat old); the others from the registry.
      const me = {
        instance_id: facts.instanceId,
        data_plane_url: facts.dataUrl(),
        admin_url: facts.adminUrl(),
        last_sync_at: facts.lastSyncAt(),
        revision: svc.state.revision,
      };
      const others = rows.filter((r) => r.instance_id !== facts.instanceId);
      const data = [
        me,
        ...others.map((r) => ({
          instance_id: r.instance_id,
          data_plane_url: r.data_plane_url,
          admin_url: r.admin_url,
          last_sync_at: r.last_sync_at,
          revision: r.revision ?? null,
        })),
      ];
      return [200, { data }];
    }),
  ];
}
