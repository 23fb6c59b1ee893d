import type { ProxyService } from '../service.js';
import type { UsageTracker } from '../usage.js';
import { decide } from '../policy.js';
import { route, type Route } from './http.js';

/** Refusals that come from the key itself: what a revoke must produce on every instance. */
const KEY_REFUSALS = new Set(['vault_key_revoked', 'vault_key_expired', 'vault_key_unknown']);

/**
 * `GET /v1/vault-keys/{id}/verdict`: would THIS instance serve the key now? Answered from this
 * instance's in-memory state with the data plane's own `decide`, so `tourniquet revoke` can
 * verify a revoke on every instance without holding the vault key's secret.
 */
export function verdictRoutes(svc: ProxyService, usage: UsageTracker, instanceId: string): Route[] {
  return [
    route('GET', '/v1/vault-keys/{id}/verdict', ({ params }) => {
      const id = params[0]!;
      const key = svc.state.vaultKey(id);
      const refusal = decide(key, 'GET', '/', Date.now(), null, usage);
      const code = refusal && KEY_REFUSALS.has(refusal.code) ? refusal.code : 'allowed';
      return [
        200,
        {
          instance_id: instanceId,
          vault_key_id: id,
          refused: code !== 'allowed',
          verdict: code,
          revision: svc.state.revision,
        },
      ];
    }),
  ];
}
