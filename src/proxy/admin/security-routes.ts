import type { ProxyStore } from '../store/types.js';
import type { ProxyMetrics } from '../metrics.js';
import type { KeysAtRest } from '../crypto/at-rest.js';
import { RotateError } from '../crypto/at-rest.js';
import { isTourniquetError } from '../../core/errors.js';
import { isAdminAuditStore } from './admin-audit.js';
import { ApiError, isoTime, validate, validateQuery } from './validate.js';
import { RawBody, readJson, route, type Route } from './http.js';

/** `/metrics`, the admin audit, and the master key: the routes issue 14 adds. */
export function securityRoutes(store: ProxyStore, metrics: ProxyMetrics | null, keys: KeysAtRest): Route[] {
  return [
    route('GET', '/metrics', async () => {
      if (!metrics) throw new ApiError(404, 'not_found', 'metrics are off on this instance');
      const { contentType, body } = await metrics.render();
      return [200, new RawBody(contentType, body)];
    }),
    route('GET', '/v1/admin-audit', async ({ url }) => {
      const q = validateQuery<Record<string, string | number>>(url.searchParams, {
        from: { type: 'string', check: isoTime('from') },
        to: { type: 'string', check: isoTime('to') },
        token_name: { type: 'string' },
        action: { type: 'string' },
        target: { type: 'string' },
        limit: { type: 'integer', min: 1 },
      });
      if (!isAdminAuditStore(store)) return [200, { data: [] }];
      const iso = (v: unknown) => (typeof v === 'string' ? new Date(v).toISOString() : undefined);
      const filter = {
        from: iso(q.from),
        to: iso(q.to),
        token_name: q.token_name as string | undefined,
        action: q.action as string | undefined,
        target: q.target as string | undefined,
      };
      return [200, { data: await store.queryAdminAudit(filter, Math.min(Number(q.limit ?? 100), 1000)) }];
    }),
    route('GET', '/v1/master-key', async () => {
      const s = await keys.status();
      return [
        200,
        {
          master_key_id: s.master_key_id,
          source: s.source,
          held: s.held,
          store_master_key_id: s.current,
          sealed_by_master_key: s.by_master_key,
          plaintext: s.plaintext,
        },
      ];
    }),
    route('POST', '/v1/master-key/rotate', async ({ req }) => {
      validate(await readJson(req), {});
      try {
        const r = await keys.rotate();
        return [200, { master_key_id: r.master_key_id, rewrapped: r.rewrapped, previous_master_key_ids: r.previous }];
      } catch (err) {
        if (err instanceof RotateError) throw new ApiError(409, 'conflict', err.message);
        // The source could not be read again (a file now group-readable, a failing command).
        if (isTourniquetError(err))
          throw new ApiError(409, 'master_key_unreadable', `${err.message}${err.hint ? ` (${err.hint})` : ''}`);
        throw err;
      }
    }),
  ];
}
