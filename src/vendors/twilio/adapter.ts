import { HttpClient } from '../../core/http.js';
import { adminClient, baseUrl, call, created, deleteIdempotent, need, probeKey, type AdapterDeps } from '../shared/adapter.js';
import { requireField } from '../shared/facts.js';
import { twilioFacts } from './facts.js';
import type { AuthTokenRotation, DeleteResult, VendorAdapter } from '../types.js';

const facts = twilioFacts;
const ACCOUNTS_URL = 'https://accounts.twilio.com';

/**
 * Twilio: standard API keys (POST/DELETE /2010-04-01/Accounts/{sid}/Keys) and the account's
 * auth token, rotated through a secondary token that is then promoted (the old primary dies).
 * Admin calls authenticate with Basic (account SID or main-key SID : auth token or main-key secret).
 */
export function twilioAdapter(deps: AdapterDeps): VendorAdapter {
  const cfg = deps.config;
  const sid = () => requireField(cfg.accountSid, 'twilio', 'account_sid');
  const keysPath = () => `/2010-04-01/Accounts/${sid()}/Keys.json`;
  const keyPath = (id: string) => `/2010-04-01/Accounts/${sid()}/Keys/${encodeURIComponent(id)}.json`;
  const base = baseUrl(facts, cfg);
  const accountsBase = cfg.accountsBaseUrl ?? (cfg.baseUrl ? cfg.baseUrl : ACCOUNTS_URL);
  return {
    vendor: 'twilio',
    displayName: facts.displayName,
    capabilities: facts.capabilities,
    guidance: () => [`tourniquet creates a standard API key with POST ${base}${keysPath()}`],
    async createKey({ name }) {
      const res = await adminClient(facts, deps).request({
        method: 'POST',
        path: keysPath(),
        form: { FriendlyName: name.slice(0, 64) },
        idempotencyKey: true,
        expect: (b) => need(b, 'sid', 'secret'),
      });
      return created(res.body.sid, res.body.secret, deps, { account_sid: sid(), key_sid: res.body.sid });
    },
    deleteKey: (id) => deleteIdempotent(adminClient(facts, deps), keyPath(id), id),
    probe: (key) => probeKey(facts, deps, key),
    plan(action, id = '{key_sid}') {
      if (action === 'create') return [call(base, 'POST', keysPath(), 'create a standard API key')];
      if (action === 'delete') return [call(base, 'DELETE', keyPath(id), `delete API key ${id}`)];
      return [call(base, 'GET', facts.probePath(cfg), 'probe: list one message with the key')];
    },
    authToken: authTokenRotation(deps, accountsBase),
  };
}

function authTokenRotation(deps: AdapterDeps, accountsBase: string): AuthTokenRotation {
  const client = (): HttpClient => adminClient(facts, deps, accountsBase);
  return {
    async createSecondary() {
      const res = await client().request({
        method: 'POST',
        path: '/v1/AuthTokens/Secondary',
        idempotencyKey: true,
        expect: (b) => need(b, 'secondary_auth_token'),
      });
      return created('secondary', res.body.secondary_auth_token, deps, { account_sid: String(res.body.account_sid ?? deps.config.accountSid ?? '') });
    },
    async promote() {
      const res = await client().request({ method: 'POST', path: '/v1/AuthTokens/Promote', idempotencyKey: true });
      const token = typeof res.body?.auth_token === 'string' ? res.body.auth_token : '';
      if (token) deps.onSecret?.(token);
      return { status: 'promoted', hint: token ? `…${token.slice(-4)}` : '…' };
    },
    deleteSecondary: (): Promise<DeleteResult> => deleteIdempotent(client(), '/v1/AuthTokens/Secondary', 'secondary'),
  };
}
