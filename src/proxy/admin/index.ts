import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyService } from '../service.js';
import type { UsageTracker } from '../usage.js';
import type { RequestLog } from '../log.js';
import { ApiError } from './validate.js';
import { StoreUnavailableError } from '../store/types.js';
import { MasterKeyMissingError, MasterKeyOutdatedError } from '../crypto/sealer.js';
import { sendError, sendJson, type Route } from './http.js';
import { vaultKeyRoutes } from './vault-keys.js';
import { auditRoutes, upstreamRoutes, type InstanceFacts } from './other-routes.js';
import { verdictRoutes } from './verdict.js';
import type { AdminAccess } from './access.js';

/** Errors of the layers below, as admin API answers. */
function asApiError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError)
    return new ApiError(503, 'store_unavailable', 'the proxy store is unavailable; retry shortly');
  if (err instanceof MasterKeyMissingError)
    return new ApiError(
      409,
      'master_key_missing',
      `${err.message}: start the proxy with --master-key-file, --master-key-command or TOURNIQUET_MASTER_KEY, or name the key in the config file (secret_env, secret_file)`,
    );
  if (err instanceof MasterKeyOutdatedError)
    return new ApiError(
      503,
      'master_key_outdated',
      `${err.message}: put the new key first in this instance's master key source, then SIGHUP it`,
    );
  return null;
}

/** The admin plane: its own listener, scoped bearer tokens, JSON in and out, every change audited. */
export function adminRoutes(
  svc: ProxyService,
  usage: UsageTracker,
  facts: InstanceFacts,
  extra: Route[] = [],
): Route[] {
  return [
    ...verdictRoutes(svc, usage, facts.instanceId),
    ...vaultKeyRoutes(svc),
    ...upstreamRoutes(svc, usage, facts.startedAt),
    ...auditRoutes(svc, usage, facts),
    ...extra,
  ];
}

export function createAdminPlane(
  svc: ProxyService,
  usage: UsageTracker,
  access: AdminAccess,
  facts: InstanceFacts,
  log: RequestLog,
  extra: Route[] = [],
) {
  const routes = adminRoutes(svc, usage, facts, extra);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const remote = req.socket?.remoteAddress ?? null;
    const caller = access.authenticate(req);
    const method = req.method ?? 'GET';
    let pathMatched = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      const scope = await access.authorize(req, url, caller, params);
      const call = { req, url, caller, route: scope, params, remote };
      let status: number;
      let body: unknown;
      try {
        [status, body] = await r.handler({ req, url, params, caller });
      } catch (err) {
        const api = asApiError(err);
        if (scope.action)
          await access.record(call, api?.status ?? 500, { error: { code: api?.code ?? 'internal_error' } });
        throw api ?? err;
      }
      if (scope.action) {
        // Every answer to a change names who made it; the admin audit keeps the rest.
        if (body && typeof body === 'object' && !Array.isArray(body)) body = { ...body, by: caller.name };
        await access.record(call, status, body);
      }
      sendJson(res, status, body);
      return;
    }
    req.resume();
    if (pathMatched) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed on ${url.pathname}`);
    throw new ApiError(404, 'not_found', `no admin endpoint ${url.pathname}`);
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      const api = asApiError(err);
      if (api) return sendError(res, api);
      log.error('admin bug', err);
      sendError(res, new ApiError(500, 'internal_error', 'internal error in the admin API (a bug)'));
    });
  };
}
