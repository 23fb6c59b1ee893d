import { adminClient, baseUrl, call, created, deleteIdempotent, need, probeKey, type AdapterDeps } from '../shared/adapter.js';
import { resendFacts } from './facts.js';
import type { VendorAdapter } from '../types.js';

const facts = resendFacts;

/** Resend api-keys (Bearer full-access key): POST /api-keys returns {id, token} once; DELETE /api-keys/{id}. */
export function resendAdapter(deps: AdapterDeps): VendorAdapter {
  const base = baseUrl(facts, deps.config);
  const keyPath = (id: string) => `/api-keys/${encodeURIComponent(id)}`;
  return {
    vendor: 'resend',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [`tourniquet creates a key with POST ${base}/api-keys`],
    async createKey({ name }) {
      const res = await adminClient(facts, deps).request({
        method: 'POST',
        path: '/api-keys',
        json: { name, permission: 'full_access' },
        idempotencyKey: true,
        expect: (b) => need(b, 'id', 'token'),
      });
      return created(res.body.id, res.body.token, deps);
    },
    deleteKey: (id) => deleteIdempotent(adminClient(facts, deps), keyPath(id), id),
    probe: (key) => probeKey(facts, deps, key),
    plan(action, id = '{api_key_id}') {
      if (action === 'create') return [call(base, 'POST', '/api-keys', 'create an API key')];
      if (action === 'delete') return [call(base, 'DELETE', keyPath(id), `delete API key ${id}`)];
      return [call(base, 'GET', '/api-keys', 'probe: list API keys (metadata only) with the key')];
    },
  };
}
