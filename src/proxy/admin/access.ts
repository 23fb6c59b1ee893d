import type { IncomingMessage } from 'node:http';
import { ApiError } from './validate.js';
import { bearer } from './http.js';
import type { AdminTokens, AdminToken } from './tokens.js';
import { allows, routeScope, type RouteScope } from './scopes.js';
import { adminAuditRow, type AdminAuditLog } from './admin-audit.js';
import type { ProxyMetrics } from '../metrics.js';

/** 403: the token is known but its scope is too small; the answer names the scope needed. */
export class ScopeError extends ApiError {
  readonly details: Record<string, unknown>;
  constructor(caller: AdminToken, route: RouteScope) {
    super(
      403,
      'insufficient_scope',
      `${route.method} ${route.path} needs a token with the ${route.scope} scope; token "${caller.name}" has ${caller.scope}`,
    );
    this.details = { required_scope: route.scope, token_scope: caller.scope };
  }
}

/** Who may call the admin API, and the record of what they changed. */
export class AdminAccess {
  constructor(
    readonly tokens: AdminTokens,
    private readonly audit: AdminAuditLog,
    private readonly metrics: ProxyMetrics | null,
    private readonly instanceId: string,
  ) {}

  /** The caller, or a 401 (a vault key gets a message of its own: it never works here). */
  authenticate(req: IncomingMessage): AdminToken {
    const token = bearer(req);
    const caller = token ? this.tokens.authenticate(token) : null;
    if (caller) return caller;
    req.resume();
    throw new ApiError(
      401,
      'unauthorized',
      token?.startsWith('vk_')
        ? 'a vault key never works on the admin API; use an admin token'
        : 'missing or wrong admin token',
    );
  }

  /** The route's scope rule; a refused change is audited too (someone tried). */
  async authorize(req: IncomingMessage, url: URL, caller: AdminToken, params: string[]): Promise<RouteScope> {
    const route = routeScope(req.method ?? 'GET', url.pathname);
    if (allows(caller.scope, route.scope)) return route;
    req.resume();
    const err = new ScopeError(caller, route);
    if (route.action)
      await this.record({ req, url, caller, route, params, remote: req.socket?.remoteAddress ?? null }, 403, {
        error: { code: err.code },
      });
    throw err;
  }

  /** After a state-changing call: its admin-audit row, metrics, and the answer names who made it. */
  async record(
    call: {
      req: IncomingMessage;
      url: URL;
      caller: AdminToken;
      route: RouteScope;
      params: string[];
      remote: string | null;
    },
    status: number,
    body: unknown,
  ): Promise<void> {
    const row = adminAuditRow({ ...call, status, body, instanceId: this.instanceId });
    this.metrics?.adminCalls.inc({ action: row.action, outcome: row.outcome });
    if (row.outcome === 'done') this.countRevocations(call.route, body);
    await this.audit.record(row);
  }

  private countRevocations(route: RouteScope, body: unknown): void {
    const b = (body ?? {}) as { already_revoked?: boolean; mode?: string; revoked?: unknown[] };
    if (route.action === 'vault_key.revoke' && b.already_revoked === false)
      this.metrics?.revocations.inc({ mode: b.mode ?? 'soft' });
    if (route.action === 'vault_key.revoke_all' && Array.isArray(b.revoked))
      this.metrics?.revocations.inc({ mode: 'all' }, b.revoked.length);
  }
}
