import type { HttpClient } from '../../core/http.js';
import {
  adminClient,
  allPages,
  listIn,
  baseUrl,
  call,
  createTimeouts,
  created,
  deleteOrNotFound,
  need,
  probeKey,
  type AdapterDeps,
} from '../shared/adapter.js';
import type { ListedKey, VendorAdapter } from '../types.js';
import { resendFacts } from './facts.js';

const facts = resendFacts;

interface KeyPage {
  data: Array<{ id: string; name: string }>;
  has_more?: boolean;
}

/** Resend api-keys (Bearer full-access key): POST /api-keys returns {id, token} once; GET lists (paged); DELETE /api-keys/{id}. */
export function resendAdapter(deps: AdapterDeps): VendorAdapter {
  const base = baseUrl(facts, deps.config);
  const keyPath = (id: string) => `/api-keys/${encodeURIComponent(id)}`;
  const admin = (): HttpClient => adminClient(facts, deps);

  const listPage = async (after?: string) => {
    const res = await admin().request<KeyPage>({
      method: 'GET',
      path: '/api-keys',
      query: { limit: 100, after },
      expect: listIn('data'),
    });
    const last = res.body.data.at(-1)?.id;
    return { items: res.body.data, next: res.body.has_more && last ? () => listPage(last) : null };
  };

  return {
    vendor: 'resend',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [`tourniquet creates a key with POST ${base}/api-keys`],
    async createKey({ name }) {
      const res = await admin().request<{ id: string; token: string }>({
        method: 'POST',
        path: '/api-keys',
        json: { name, permission: 'full_access' },
        timeouts: createTimeouts(deps),
        expect: (b) => need(b, 'id', 'token'),
      });
      return created(res.body.id, res.body.token, deps);
    },
    async listKeys(prefix): Promise<ListedKey[]> {
      const keys = await allPages(() => listPage());
      return keys.filter((k) => k.name.startsWith(prefix)).map((k) => ({ id: k.id, name: k.name }));
    },
    deleteKey: (id) => deleteOrNotFound(admin(), keyPath(id), id),
    probe: (key) => probeKey(facts, deps, key),
    plan(action, id = '{api_key_id}') {
      if (action === 'create') return [call(base, 'POST', '/api-keys', 'create an API key')];
      if (action === 'delete') return [call(base, 'DELETE', keyPath(id), `delete API key ${id}`)];
      return [call(base, 'GET', '/api-keys', 'probe: list API keys (metadata only) with the key')];
    },
  };
}
