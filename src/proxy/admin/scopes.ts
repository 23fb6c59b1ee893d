/**
 * Scopes of admin tokens, and what each admin route needs. Scopes nest: `admin` can do what
 * `operate` can, which can do what `read` can.
 *
 * - read:    health, instances, vault-key views and verdicts, production-key metadata (id, vendor, state, hint,
 *            label, dates, last use: never a secret), audit, summaries, rates, metrics, the admin audit
 * - operate: revoke, hard revoke, revoke-all, roll
 * - admin:   issue vault keys, production keys (add, promote, retire), master-key rotation
 *
 * A route missing from this table needs `admin` (fail closed); a test checks every route is listed.
 */
export const SCOPES = ['read', 'operate', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface RouteScope {
  method: string;
  path: string;
  scope: Scope;
  /** For state-changing routes: the admin-audit action name. */
  action?: string;
}

export const ROUTE_SCOPES: readonly RouteScope[] = [
  { method: 'GET', path: '/v1/health', scope: 'read' },
  { method: 'GET', path: '/v1/instances', scope: 'read' },
  { method: 'GET', path: '/v1/vault-keys', scope: 'read' },
  { method: 'GET', path: '/v1/vault-keys/{id}', scope: 'read' },
  { method: 'GET', path: '/v1/vault-keys/{id}/verdict', scope: 'read' },
  { method: 'GET', path: '/v1/audit', scope: 'read' },
  { method: 'GET', path: '/v1/audit/summary', scope: 'read' },
  { method: 'GET', path: '/v1/rates', scope: 'read' },
  { method: 'GET', path: '/v1/admin-audit', scope: 'read' },
  { method: 'GET', path: '/metrics', scope: 'read' },
  { method: 'DELETE', path: '/v1/vault-keys/{id}', scope: 'operate', action: 'vault_key.revoke' },
  { method: 'POST', path: '/v1/vault-keys/revoke-all', scope: 'operate', action: 'vault_key.revoke_all' },
  { method: 'POST', path: '/v1/vault-keys/{id}/roll', scope: 'operate', action: 'vault_key.roll' },
  { method: 'POST', path: '/v1/vault-keys', scope: 'admin', action: 'vault_key.issue' },
  { method: 'GET', path: '/v1/upstream-keys', scope: 'read' }, // metadata only (upstreamView): `tourniquet keys`
  { method: 'POST', path: '/v1/upstream-keys', scope: 'admin', action: 'upstream_key.add' },
  { method: 'POST', path: '/v1/upstream-keys/{id}/promote', scope: 'admin', action: 'upstream_key.promote' },
  { method: 'POST', path: '/v1/upstream-keys/{id}/retire', scope: 'admin', action: 'upstream_key.retire' },
  { method: 'GET', path: '/v1/master-key', scope: 'admin' },
  { method: 'POST', path: '/v1/master-key/rotate', scope: 'admin', action: 'master_key.rotate' },
];

const RANK: Record<Scope, number> = { read: 0, operate: 1, admin: 2 };

export const allows = (have: Scope, need: Scope) => RANK[have] >= RANK[need];

const compiled = ROUTE_SCOPES.map((r) => ({ ...r, re: new RegExp(`^${r.path.replace(/\{[a-z_]+\}/g, '[^/]+')}$`) }));

/** Literal paths win over `{id}` ones (`/v1/vault-keys/revoke-all` is not a key id). */
export function routeScope(method: string, pathname: string): RouteScope {
  const hits = compiled.filter((r) => r.method === method && r.re.test(pathname));
  const best = hits.find((r) => !r.path.includes('{')) ?? hits[0];
  if (best) return { method: best.method, path: best.path, scope: best.scope, action: best.action };
  const mutating = method !== 'GET' && method !== 'HEAD';
  return {
    method,
    path: pathname,
    scope: 'admin',
    action: mutating ? `${method.toLowerCase()} ${pathname}` : undefined,
  };
}
