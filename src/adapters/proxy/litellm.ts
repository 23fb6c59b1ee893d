import { TourniquetError } from '../../core/errors.js';
import { fieldOf, isRecord, scalarText, stringField } from '../../core/json.js';
import { lazyHttp } from './client.js';
import {
  unsupportedCall,
  type AuditRowSummary,
  type IssuedKey,
  type ProxyAdapter,
  type RevokeOutcome,
  type VaultKeySummary,
} from './types.js';

/**
 * LiteLLM's virtual keys as vault keys, as its source has them (BerriAI/litellm,
 * key_management_endpoints.py and spend_management_endpoints.py). A "revoke" is `/key/block`,
 * never `/key/delete`: the key and its spend logs stay, so history remains attributable. The
 * vault key id is the key's token (LiteLLM's hashed id), which `/key/block` and `/key/info`
 * accept in place of the key. A roll is a new `/key/generate` with the old key's limits:
 * `/key/{key}/regenerate` is an Enterprise feature (an open-source proxy answers 500).
 * LiteLLM keeps no per-instance state we can ask, so a probe reads `/key/info` once.
 */
export interface LiteLlmOptions {
  baseUrl: string;
  masterKey: string;
  trace?: (line: string) => void;
}

/** A key's info as LiteLLM answers it: an object whose fields are read one by one. */
type KeyInfo = Record<string, unknown>;

function summary(id: string, info: KeyInfo): VaultKeySummary {
  return {
    id,
    // The vendor is what `issue` wrote into the key's metadata; a key made elsewhere has none.
    vendor: stringField(info.metadata, 'vendor') ?? 'litellm',
    status: info.blocked ? 'revoked' : 'active',
    upstream_key_id: null,
    agent_run_id: stringField(info.metadata, 'agent_run_id') ?? null,
    expires_at: stringField(info, 'expires') ?? null,
    // A key's info has its limits and `expires`; `duration` is only a parameter of /key/generate.
    policy: {
      max_budget: info.max_budget ?? null,
      budget_duration: info.budget_duration ?? null,
      rpm_limit: info.rpm_limit ?? null,
      models: info.models ?? [],
      metadata: info.metadata ?? {},
    },
  };
}

/** LiteLLM's `duration` for what is left of an expiry (`"3600s"`), or undefined for a key that does not expire. */
function remaining(expires: unknown): string | undefined {
  const at = typeof expires === 'string' ? Date.parse(expires) : NaN;
  return Number.isFinite(at) ? `${Math.max(1, Math.ceil((at - Date.now()) / 1000))}s` : undefined;
}

/** The info of a `/key/info` answer (`{key, info}`, or the info itself), or undefined when there is none. */
const infoOf = (body: unknown): KeyInfo | undefined => {
  const found = fieldOf(body, 'info') ?? body;
  return isRecord(found) && Object.keys(found).length > 0 ? found : undefined;
};
const keyInfoShape = (b: unknown, status: number) =>
  status === 404 || infoOf(b) ? undefined : 'no key info (an empty or non-object answer is not "key not found")';

/** /key/generate's answer: the new key (checked by `hasKey`), with its other fields read one by one. */
type GeneratedKey = KeyInfo & { key: string };
const hasKey = (x: unknown) => (typeof fieldOf(x, 'key') === 'string' ? undefined : 'no "key"');

export function createLiteLlmProxy(opts: LiteLlmOptions): ProxyAdapter {
  const http = lazyHttp({
    baseUrl: opts.baseUrl,
    name: 'the LiteLLM proxy',
    headers: { authorization: `Bearer ${opts.masterKey}` },
    trace: opts.trace,
  });
  const base = opts.baseUrl.replace(/\/$/, '');
  // Only a 404 means "no such key" (LiteLLM raises 404 "Key not found"). A 200 must carry the key's
  // info: an empty body, null, "" or anything not an object proves nothing, so it is a shape error
  // (a revoke step fails; a probe reports the instance not refused), never "the key is gone".
  const info = async (id: string): Promise<KeyInfo | undefined> => {
    const res = await http.get('/key/info', { query: { key: id }, accept: [404], expect: keyInfoShape });
    return res.status === 404 ? undefined : infoOf(res.body);
  };
  const idOf = (b: KeyInfo): string => String(b.token ?? b.token_id ?? b.key_name ?? b.key);
  const no = (what: string) => unsupportedCall('litellm', what);

  return {
    kind: 'litellm',
    capabilities: {
      hardRevoke: false,
      revokeAllUnder: false,
      issue: true,
      roll: true,
      probe: true,
      upstreamKeys: false,
      audit: true,
    },
    describe: (op, a = {}) =>
      ({
        revoke: `POST ${base}/key/block {"key":"${a.id}"}`,
        list: `GET ${base}/key/list?return_full_object=true&page=1&size=100 (every page)`,
        issue: `POST ${base}/key/generate`,
        roll: `GET ${base}/key/info?key=${a.id}, then POST ${base}/key/generate with its limits`,
        probe: `GET ${base}/key/info?key=${a.id}`,
        audit: `GET ${base}/spend/logs`,
      })[op] ?? `${op}: not supported by the LiteLLM adapter`,

    async revokeVaultKey(id): Promise<RevokeOutcome> {
      const before = await info(id);
      if (!before) return { status: 'not-found', vault_key_id: id };
      if (before.blocked)
        return { status: 'already-revoked', vault_key_id: id, effective_at: scalarText(before.updated_at) ?? '' };
      await http.post('/key/block', { json: { key: id }, idempotencyKey: true });
      return { status: 'revoked', vault_key_id: id, effective_at: new Date().toISOString() };
    },

    async listVaultKeys(filter) {
      // LiteLLM keeps no production key per virtual key: an --all-under filter cannot be applied,
      // and ignoring it would revoke every key (other vendors' agents too).
      if (filter.upstream_key_id)
        throw new TourniquetError(
          'usage',
          `the LiteLLM proxy does not know which virtual keys use production key ${filter.upstream_key_id}`,
          { hint: 'name the vault keys to revoke, or use --vendor V (keys whose metadata.vendor is V)' },
        );
      // /key/list answers 10 keys a page unless asked; follow `total_pages` (bounded).
      const keys: unknown[] = [];
      for (let page = 1, pages = 1; page <= pages && page <= 1000; page++) {
        const res = await http.get<{ keys: unknown[]; total_pages?: unknown }>('/key/list', {
          query: { return_full_object: true, page, size: 100 },
          expect: (b) => (Array.isArray(fieldOf(b, 'keys')) ? undefined : 'no "keys" list'),
        });
        keys.push(...res.body.keys);
        pages = Number(res.body.total_pages ?? 1);
      }
      return keys
        .map((k) => (isRecord(k) ? summary(idOf(k), k) : summary(String(k), {})))
        .filter(
          (k) => (!filter.vendor || k.vendor === filter.vendor) && (!filter.status || k.status === filter.status),
        );
    },

    async getVaultKey(id) {
      const i = await info(id);
      return i ? summary(id, i) : undefined;
    },

    async issueVaultKey(spec): Promise<IssuedKey> {
      const body = {
        duration: spec.expires_in,
        max_budget: spec.daily_usd_cap,
        budget_duration: spec.daily_usd_cap ? '1d' : undefined,
        rpm_limit: spec.calls_per_minute,
        metadata: { agent_run_id: spec.agent_run_id, vendor: spec.vendor, ...spec.labels },
      };
      const b = (
        await http.post<GeneratedKey>('/key/generate', {
          json: body,
          idempotencyKey: true,
          expect: hasKey,
        })
      ).body;
      return { id: idOf(b), secret: b.key, vendor: spec.vendor, expires_at: stringField(b, 'expires') ?? null };
    },

    async rollVaultKey(id, { revokeOld }): Promise<IssuedKey> {
      const old = await info(id);
      if (!old) throw new TourniquetError('not-found', `LiteLLM has no key ${id}`);
      const body = {
        max_budget: old.max_budget ?? undefined,
        budget_duration: old.budget_duration ?? undefined,
        rpm_limit: old.rpm_limit ?? undefined,
        tpm_limit: old.tpm_limit ?? undefined,
        models: old.models ?? undefined,
        duration: remaining(old.expires),
        metadata: { ...(isRecord(old.metadata) ? old.metadata : {}), rolled_from: id },
      };
      const b = (await http.post<GeneratedKey>('/key/generate', { json: body, expect: hasKey })).body;
      if (revokeOld) await http.post('/key/block', { json: { key: id }, idempotencyKey: true });
      return {
        id: idOf(b),
        secret: b.key,
        vendor: scalarText(fieldOf(old.metadata, 'vendor')) ?? 'litellm',
        expires_at: stringField(b, 'expires') ?? null,
        rolled_from: id,
      };
    },

    revokeAllUnder: no('revoke every vault key under a production key (name the keys instead)'),
    instances() {
      return Promise.resolve([{ instance_id: 'litellm', data_plane_url: opts.baseUrl }]);
    },

    async probeVaultKey(id, instance) {
      const i = await info(id);
      return {
        instance_id: instance.instance_id,
        refused: !i || i.blocked === true,
        code: !i ? 'key_not_found' : i.blocked ? 'key_blocked' : 'allowed',
      };
    },

    listUpstreamKeys: no('list production keys (LiteLLM keeps them in its model config)'),
    addUpstreamKey: no('add a production key (edit the LiteLLM model config)'),
    promoteUpstreamKey: no('promote a production key'),
    retireUpstreamKey: no('retire a production key'),

    async audit(filter): Promise<AuditRowSummary[]> {
      // With a date range LiteLLM sums per day unless told `summarize=false`.
      const from = filter.from?.slice(0, 10);
      const to = from ? new Date(Date.now() + 86_400_000).toISOString().slice(0, 10) : undefined;
      const res = await http.get('/spend/logs', {
        query: { api_key: filter.vault_key_id, start_date: from, end_date: to, summarize: from ? false : undefined },
      });
      const data = Array.isArray(res.body) ? res.body : fieldOf(res.body, 'data');
      const rows: unknown[] = Array.isArray(data) ? data : [];
      return rows.map((r) => ({
        started_at: scalarText(fieldOf(r, 'startTime')) ?? '',
        vault_key_id: stringField(r, 'api_key') ?? null,
        upstream_key_id: null,
        policy_verdict: 'allowed',
        vendor_status: fieldOf(r, 'status') === 'failure' ? 500 : 200,
        method: 'POST',
        path: scalarText(fieldOf(r, 'call_type')) ?? '',
      }));
    },
  };
}
