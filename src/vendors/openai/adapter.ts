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
import { requireField } from '../shared/facts.js';
import type { DeleteResult, ListedKey, VendorAdapter } from '../types.js';
import { openaiFacts } from './facts.js';

const facts = openaiFacts;

interface Page<T> {
  data: T[];
  has_more: boolean;
  last_id?: string | null;
}
interface ServiceAccount {
  id: string;
  name: string;
}
interface ApiKeyOwner {
  owner?: { type?: string; service_account?: { id?: string } };
}

/**
 * OpenAI admin API (Bearer admin key). A new production key is a new project service account,
 * whose create response carries its unmasked key once. Ids tell the kinds apart: `key_…` is a
 * project API key; anything else is a service account (deleting it kills its key). A key that
 * belongs to a service account cannot be deleted on its own (the API answers 400): its
 * account is deleted instead.
 */
export function openaiAdapter(deps: AdapterDeps): VendorAdapter {
  const cfg = deps.config;
  const project = () =>
    `/v1/organization/projects/${encodeURIComponent(requireField(cfg.projectId, 'openai', 'project_id'))}`;
  const saPath = (id: string) => `${project()}/service_accounts/${encodeURIComponent(id)}`;
  const keyPath = (id: string) => `${project()}/api_keys/${encodeURIComponent(id)}`;
  const base = baseUrl(facts, cfg);
  const admin = (): HttpClient => adminClient(facts, deps);

  /** A project API key's owner decides how it is deleted: its service account, or the key itself. */
  async function deleteApiKey(id: string): Promise<DeleteResult> {
    const res = await admin().request<ApiKeyOwner>({ method: 'GET', path: keyPath(id), accept: [404] });
    if (res.status === 404) return { status: 'not-found', id };
    const account = res.body.owner?.type === 'service_account' ? res.body.owner.service_account?.id : undefined;
    return account ? deleteOrNotFound(admin(), saPath(account), id) : deleteOrNotFound(admin(), keyPath(id), id);
  }

  const listPage = async (after?: string) => {
    const res = await admin().request<Page<ServiceAccount>>({
      method: 'GET',
      path: `${project()}/service_accounts`,
      query: { limit: 100, after },
      expect: listIn('data'),
    });
    const last = res.body.data.at(-1)?.id;
    return { items: res.body.data, next: res.body.has_more && last ? () => listPage(last) : null };
  };

  return {
    vendor: 'openai',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [
      `tourniquet creates a project service account (its key comes back once) with POST ${base}${project()}/service_accounts`,
    ],
    async createKey({ name }) {
      const res = await admin().request<{ id: string; api_key: { value: string; id?: string } }>({
        method: 'POST',
        path: `${project()}/service_accounts`,
        json: { name },
        timeouts: createTimeouts(deps),
        expect: (b) => need(b, 'id', 'api_key.value'),
      });
      return created(res.body.id, res.body.api_key.value, deps, {
        service_account_id: res.body.id,
        api_key_id: String(res.body.api_key.id ?? ''),
      });
    },
    async listKeys(prefix): Promise<ListedKey[]> {
      const accounts = await allPages(() => listPage());
      return accounts.filter((a) => a.name.startsWith(prefix)).map((a) => ({ id: a.id, name: a.name }));
    },
    deleteKey: (id) => (id.startsWith('key_') ? deleteApiKey(id) : deleteOrNotFound(admin(), saPath(id), id)),
    deleteProjectKey: deleteApiKey,
    probe: (key) => probeKey(facts, deps, key),
    plan(action, id = '{service_account_id}') {
      if (action === 'create')
        return [call(base, 'POST', `${project()}/service_accounts`, 'create a service account and its key')];
      if (action === 'delete' && id.startsWith('key_'))
        return [
          call(base, 'GET', keyPath(id), `find who owns API key ${id}`),
          call(base, 'DELETE', keyPath(id), `delete API key ${id} (its service account instead, when it has one)`),
        ];
      if (action === 'delete') return [call(base, 'DELETE', saPath(id), `delete service account ${id} (and its key)`)];
      return [call(base, 'GET', facts.probePath(cfg), 'probe: list models with the key')];
    },
  };
}
