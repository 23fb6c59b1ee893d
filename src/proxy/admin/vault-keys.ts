import type { ProxyService, IssueInput } from '../service.js';
import { vaultKeyView } from '../service.js';
import { isValidEndpointPattern } from '../request-info.js';
import { ApiError, parseDuration, validate, validateQuery, type Spec } from './validate.js';
import { readJson, route, type Route } from './http.js';

const ISSUE_SPEC: Spec = {
  vendor: { type: 'string', required: true },
  allowed_endpoints: {
    type: 'string[]',
    nullable: true,
    check: (v) => {
      // An empty list reads as "nothing allowed"; leave the field out (or null) for every endpoint.
      if ((v as string[]).length === 0)
        return 'allowed_endpoints must name at least one endpoint (leave it out, or null, to allow every endpoint)';
      const bad = (v as string[]).find((p) => !isValidEndpointPattern(p));
      return bad === undefined
        ? null
        : `allowed_endpoints: "${bad}" is not "METHOD /path" (e.g. "POST /v1/refunds", "GET /v1/customers/*")`;
    },
  },
  daily_usd_cap: { type: 'number', min: 0, nullable: true },
  per_call_amount_cap: { type: 'number', min: 0, nullable: true },
  calls_per_minute: { type: 'integer', min: 1, nullable: true },
  expires_in: { type: 'duration', nullable: true },
  agent_run_id: { type: 'string', nullable: true },
  labels: { type: 'labels' },
  customer_id_path: {
    type: 'string',
    nullable: true,
    check: (v) =>
      /^(body|query|header|path|after)\.[A-Za-z0-9_.-]+$/.test(String(v))
        ? null
        : 'customer_id_path must look like body.customer, query.customer, header.x-customer-id, path.3 or after.customers',
  },
  upstream_key_id: { type: 'string', nullable: true },
};

const LIST_SPEC: Spec = {
  vendor: { type: 'string' },
  status: { type: 'string', enum: ['active', 'revoked', 'expired'] },
  agent: { type: 'string' },
  agent_run_id: { type: 'string' },
  upstream_key_id: { type: 'string' },
};

const notFound = (id: string) => new ApiError(404, 'not_found', `no vault key ${id}`);

export function vaultKeyRoutes(svc: ProxyService): Route[] {
  return [
    route('POST', '/v1/vault-keys', async ({ req }) => {
      const body = validate<Record<string, unknown>>(await readJson(req), ISSUE_SPEC);
      const expires = body.expires_in;
      const input = {
        ...body,
        expires_in: typeof expires === 'string' ? (parseDuration(expires) ?? undefined) : (expires ?? undefined),
      } as IssueInput;
      const { record, secret } = await svc.issue(input);
      return [201, { ...vaultKeyView(record), secret }];
    }),
    route('GET', '/v1/vault-keys', async ({ url }) => {
      const q = validateQuery<Record<string, string>>(url.searchParams, LIST_SPEC);
      const wanted = q.status;
      const rows = await svc.store.listVaultKeys({
        vendor: q.vendor,
        agent: q.agent,
        agent_run_id: q.agent_run_id,
        upstream_key_id: q.upstream_key_id,
        status: wanted === 'revoked' ? 'revoked' : wanted ? 'active' : undefined,
      });
      const views = rows.map((r) => vaultKeyView(r)).filter((v) => !wanted || v.status === wanted);
      return [200, { data: views }];
    }),
    route('POST', '/v1/vault-keys/revoke-all', async ({ req }) => {
      const body = validate<{ vendor?: string; upstream_key_id?: string; hard?: boolean }>(await readJson(req), {
        vendor: { type: 'string' },
        upstream_key_id: { type: 'string' },
        hard: { type: 'boolean' },
      });
      if (!body.vendor === !body.upstream_key_id)
        throw new ApiError(
          400,
          'invalid_request',
          'give exactly one of vendor or upstream_key_id',
          body.vendor ? 'upstream_key_id' : 'vendor',
        );
      const ids = svc.keysUnder(body).map((k) => k.id);
      const r = await svc.revoke(ids, body.hard === true);
      const revoked = r.outcomes.filter((o) => !o.already_revoked);
      return [
        200,
        {
          revoked: revoked.map((o) => o.id),
          effective_at: revoked[0]?.effective_at ?? new Date().toISOString(),
          durable: true,
          fleet: r.fleet,
        },
      ];
    }),
    route('GET', '/v1/vault-keys/{id}', async ({ params }) => {
      const rec = await svc.store.getVaultKey(params[0]!);
      if (!rec) throw notFound(params[0]!);
      return [200, vaultKeyView(rec)];
    }),
    route('DELETE', '/v1/vault-keys/{id}', async ({ url, params }) => {
      const q = validateQuery<{ hard?: boolean }>(url.searchParams, { hard: { type: 'boolean' } });
      const id = params[0]!;
      const r = await svc.revoke([id], q.hard === true);
      const [outcome] = r.outcomes;
      if (!outcome) throw notFound(id);
      return [200, { ...outcome, durable: true, fleet: r.fleet }];
    }),
    route('POST', '/v1/vault-keys/{id}/roll', async ({ req, params }) => {
      const body = validate<{ revoke_old?: boolean }>(await readJson(req), { revoke_old: { type: 'boolean' } });
      const { record, secret, fleet } = await svc.roll(params[0]!, body.revoke_old === true);
      return [
        201,
        { ...vaultKeyView(record), secret, ...(fleet ? { revoked_old: { id: params[0], durable: true, fleet } } : {}) },
      ];
    }),
  ];
}
