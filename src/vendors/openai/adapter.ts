import { adminClient, baseUrl, call, created, deleteIdempotent, need, probeKey, type AdapterDeps } from '../shared/adapter.js';
import { requireField } from '../shared/facts.js';
import { openaiFacts } from './facts.js';
import type { VendorAdapter } from '../types.js';

const facts = openaiFacts;

/**
 * OpenAI admin API (Bearer admin key). A new production key is a new project service account,
 * whose create response carries its unmasked key once. Ids tell the kinds apart:
 * `key_…` is a project API key (DELETE …/api_keys/{id}); anything else is a service account
 * (DELETE …/service_accounts/{id}, which also kills its key).
 */
export function openaiAdapter(deps: AdapterDeps): VendorAdapter {
  const cfg = deps.config;
  const project = () => `/v1/organization/projects/${encodeURIComponent(requireField(cfg.projectId, 'openai', 'project_id'))}`;
  const saPath = (id: string) => `${project()}/service_accounts/${encodeURIComponent(id)}`;
  const keyPath = (id: string) => `${project()}/api_keys/${encodeURIComponent(id)}`;
  const pathFor = (id: string) => (id.startsWith('key_') ? keyPath(id) : saPath(id));
  const base = baseUrl(facts, cfg);
  return {
    vendor: 'openai',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [`tourniquet creates a project service account (its key comes back once) with POST ${base}${project()}/service_accounts`],
    async createKey({ name }) {
      const res = await adminClient(facts, deps).request({
        method: 'POST',
        path: `${project()}/service_accounts`,
        json: { name },
        idempotencyKey: true,
        expect: (b) => need(b, 'id', 'api_key.value'),
      });
      return created(res.body.id, res.body.api_key.value, deps, { service_account_id: res.body.id, api_key_id: String(res.body.api_key.id ?? '') });
    },
    deleteKey: (id) => deleteIdempotent(adminClient(facts, deps), pathFor(id), id),
    deleteProjectKey: (id) => deleteIdempotent(adminClient(facts, deps), keyPath(id), id),
    probe: (key) => probeKey(facts, deps, key),
    plan(action, id = '{service_account_id}') {
      if (action === 'create') return [call(base, 'POST', `${project()}/service_accounts`, 'create a service account and its key')];
      if (action === 'delete') return [call(base, 'DELETE', pathFor(id), id.startsWith('key_') ? `delete project API key ${id}` : `delete service account ${id} (and its key)`)];
      return [call(base, 'GET', facts.probePath(cfg), 'probe: list models with the key')];
    },
  };
}
