import { usageError } from '../../core/errors.js';
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
import { requireField, vendorKeyId } from '../shared/facts.js';
import type { AuthTokenRotation, DeleteResult, ListedKey, VendorAdapter, VendorConfig } from '../types.js';
import { twilioFacts } from './facts.js';

const facts = twilioFacts;
/** The Accounts API (auth tokens) lives on its own host, whatever the REST API's base URL is. */
export const ACCOUNTS_URL = 'https://accounts.twilio.com';
export const twilioAccountsBase = (cfg: VendorConfig): string => cfg.accountsBaseUrl ?? ACCOUNTS_URL;

interface KeyPage {
  keys: Array<{ sid: string; friendly_name: string | null }>;
  next_page_uri: string | null;
}

/**
 * Twilio: standard API keys (POST/DELETE /2010-04-01/Accounts/{sid}/Keys; their sids are
 * `SK…`, the only ids the delete takes) and the account's auth token, rotated through a
 * secondary token that is then promoted (the old primary dies) on accounts.twilio.com.
 * Admin calls authenticate with Basic (account SID or main-key SID : auth token or key secret).
 */
export function twilioAdapter(deps: AdapterDeps): VendorAdapter {
  const cfg = deps.config;
  const sid = () => requireField(cfg.accountSid, 'twilio', 'account_sid');
  const keysPath = () => `/2010-04-01/Accounts/${sid()}/Keys.json`;
  const keyPath = (id: string) => `/2010-04-01/Accounts/${sid()}/Keys/${encodeURIComponent(id)}.json`;
  const base = baseUrl(facts, cfg);
  const admin = (): HttpClient => adminClient(facts, deps);

  const listPage = async (path: string, query?: Record<string, number>) => {
    const res = await admin().request<KeyPage>({
      method: 'GET',
      path,
      query,
      expect: listIn('keys'),
    });
    const next = res.body.next_page_uri;
    return { items: res.body.keys, next: next ? () => listPage(next) : null };
  };

  return {
    vendor: 'twilio',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [`tourniquet creates a standard API key with POST ${base}${keysPath()}`],
    async createKey({ name }) {
      const res = await admin().request<{ sid: string; secret: string }>({
        method: 'POST',
        path: keysPath(),
        form: { FriendlyName: name.slice(0, 64) },
        timeouts: createTimeouts(deps),
        expect: (b) => need(b, 'sid', 'secret'),
      });
      return created(res.body.sid, res.body.secret, deps, { account_sid: sid(), key_sid: res.body.sid });
    },
    async listKeys(prefix): Promise<ListedKey[]> {
      const keys = await allPages(() => listPage(keysPath(), { PageSize: 1000 }));
      return keys
        .filter((k) => (k.friendly_name ?? '').startsWith(prefix))
        .map((k) => ({ id: k.sid, name: k.friendly_name ?? '' }));
    },
    async deleteKey(id): Promise<DeleteResult> {
      // Only an API key (SK…) can be deleted here; the auth token is rotated with --auth-token.
      if (!vendorKeyId(facts, id))
        throw usageError(
          `"${id}" is not a Twilio API key sid (SK followed by 32 hex digits)`,
          'the account auth token is rotated with: tourniquet rotate twilio --auth-token',
        );
      return deleteOrNotFound(admin(), keyPath(id), id);
    },
    probe: (key) => probeKey(facts, deps, { ...key, id: vendorKeyId(facts, key.id) ?? undefined }),
    plan(action, id = '{key_sid}') {
      if (action === 'create') return [call(base, 'POST', keysPath(), 'create a standard API key')];
      if (action === 'delete') return [call(base, 'DELETE', keyPath(id), `delete API key ${id}`)];
      return [call(base, 'GET', facts.probePath(cfg), 'probe: list one message with the key')];
    },
    authToken: authTokenRotation(deps, twilioAccountsBase(cfg)),
  };
}

function authTokenRotation(deps: AdapterDeps, accountsBase: string): AuthTokenRotation {
  const client = (): HttpClient => adminClient(facts, deps, accountsBase);
  return {
    async createSecondary() {
      const res = await client().request<{ secondary_auth_token: string; account_sid?: string }>({
        method: 'POST',
        path: '/v1/AuthTokens/Secondary',
        timeouts: createTimeouts(deps),
        expect: (b) => need(b, 'secondary_auth_token'),
      });
      return created('secondary', res.body.secondary_auth_token, deps, {
        account_sid: String(res.body.account_sid ?? deps.config.accountSid ?? ''),
      });
    },
    async promote() {
      const res = await client().request<{ auth_token?: unknown }>({ method: 'POST', path: '/v1/AuthTokens/Promote' });
      const token = typeof res.body?.auth_token === 'string' ? res.body.auth_token : '';
      if (token) deps.onSecret?.(token);
      return { status: 'promoted', hint: token ? `…${token.slice(-4)}` : '…' };
    },
    deleteSecondary: (): Promise<DeleteResult> => deleteOrNotFound(client(), '/v1/AuthTokens/Secondary', 'secondary'),
  };
}
