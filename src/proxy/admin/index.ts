import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProxyService } from '../service.js';
import type { UsageTracker } from '../usage.js';
import type { RequestLog } from '../log.js';
import { ApiError } from './validate.js';
import { StoreUnavailableError } from '../store/types.js';
import { bearer, sendError, sendJson, tokenMatches, type Route } from './http.js';
import { vaultKeyRoutes } from './vault-keys.js';
import { auditRoutes, upstreamRoutes, type InstanceFacts } from './other-routes.js';
import { verdictRoutes } from './verdict.js';

/** The admin plane: its own listener, a bearer admin token, JSON in and out. */
export function createAdminPlane(svc: ProxyService, usage: UsageTracker, adminToken: string, facts: InstanceFacts, log: RequestLog) {
  const routes: Route[] = [...verdictRoutes(svc, usage, facts.instanceId), ...vaultKeyRoutes(svc), ...upstreamRoutes(svc, usage, facts.startedAt), ...auditRoutes(svc, usage, facts)];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const token = bearer(req);
    if (!token || !tokenMatches(token, adminToken)) {
      req.resume();
      const message = token?.startsWith('vk_') ? 'a vault key never works on the admin API; use the admin token' : 'missing or wrong admin token';
      throw new ApiError(401, 'unauthorized', message);
    }
    const method = req.method ?? 'GET';
    let pathMatched = false;
    for (const r of routes) {
      const m = r.pattern.exec(url.pathname);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      const [status, body] = await r.handler({ req, url, params });
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
      if (err instanceof ApiError) return sendError(res, err);
      if (err instanceof StoreUnavailableError) return sendError(res, new ApiError(503, 'store_unavailable', 'the proxy store is unavailable; retry shortly'));
      log.error('admin bug', err);
      sendError(res, new ApiError(500, 'internal_error', 'internal error in the admin API (a bug)'));
    });
  };
}
