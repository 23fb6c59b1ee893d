import { createPublicKey, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import {
  bearer,
  parseJson,
  startFakeServer,
  type FakeServer,
  type Recorded,
  type Reply,
  type Route,
} from './server.js';

/**
 * A loopback fake of the OAuth Agents API (seed 003), under /api/v1, with the token side an agent
 * uses: POST /oauth/token (client_credentials, client_secret_basic) issues a token bound to the
 * agent's current DPoP key, POST /oauth/introspect answers RFC 7662. PATCH active=false blocks
 * new tokens and revokes every token of the agent; rotate-dpop-key revokes tokens bound to the
 * old key. Errors follow the seed: 400 invalid_request / invalid_jwk, 401, 404 not_found.
 */
export interface FakeOAuthAgent {
  id: string;
  name: string;
  active: boolean;
  client_id: string;
  client_secret: string;
  scopes: string[];
  jkt: string;
}

interface FakeToken {
  token: string;
  agent_id: string;
  jkt: string;
  active: boolean;
  exp: number;
}

export interface AgentsApiFake extends FakeServer {
  agents: Map<string, FakeOAuthAgent>;
  tokens: FakeToken[];
  audit: { id: string; type: string; agent_id: string; metadata: Record<string, unknown> }[];
  addAgent(name: string, jkt?: string): FakeOAuthAgent;
  /** Misbehaviours for tests: answer 200 to PATCH without deactivating; answer a wrong new_jkt. */
  faults: { ignoreDeactivate: boolean; wrongJkt: boolean };
}

const err = (status: number, error: string, error_description: string): Reply => ({
  status,
  json: { error, error_description },
});
const view = ({ client_secret: _s, ...a }: FakeOAuthAgent) => a;
const rand = (n: number) => randomBytes(n).toString('hex');

function basicClient(req: Recorded): { id: string; secret: string } | undefined {
  const h = String(req.headers.authorization ?? '');
  if (!h.startsWith('Basic ')) return undefined;
  const [id, secret] = Buffer.from(h.slice(6), 'base64')
    .toString('utf8')
    .split(':')
    .map((s) => decodeURIComponent(s.replace(/\+/g, ' ')));
  return id && secret !== undefined ? { id, secret } : undefined;
}

export async function startAgentsApiFake(opts: { adminKey: string; port?: number }): Promise<AgentsApiFake> {
  let fake: AgentsApiFake; // set before any request can arrive
  const agents = new Map<string, FakeOAuthAgent>();
  const tokens: FakeToken[] = [];
  const audit: AgentsApiFake['audit'] = [];
  const addAgent = (name: string, jkt = '') => {
    const a: FakeOAuthAgent = {
      id: `agent_${rand(6)}`,
      name,
      active: true,
      client_id: `client_${rand(6)}`,
      client_secret: `cs_${rand(16)}`,
      scopes: ['read'],
      jkt,
    };
    agents.set(a.id, a);
    return a;
  };
  const emit = (type: string, agent_id: string, metadata: Record<string, unknown>) => {
    const e = { id: `evt_${rand(8)}`, type, agent_id, metadata };
    audit.push(e);
    return e;
  };
  const admin =
    (h: (req: Recorded, p: string[], url: URL) => Reply | Promise<Reply>) => (req: Recorded, p: string[], url: URL) =>
      bearer(req) === opts.adminKey
        ? h(req, p, url)
        : { status: 401, json: { error: 'unauthorized', error_description: 'missing or invalid admin API key' } };
  const notFound = (id: string) => err(404, 'not_found', `agent ${id} not found`);
  const client = (req: Recorded) => {
    const c = basicClient(req);
    return [...agents.values()].find((a) => a.client_id === c?.id && a.client_secret === c?.secret);
  };
  const form = (req: Recorded) => new URLSearchParams(req.body);

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/\.well-known\/oauth-authorization-server$/,
      handle: () => {
        const issuer = fake.url;
        return {
          status: 200,
          json: {
            issuer,
            token_endpoint: `${issuer}/oauth/token`,
            revocation_endpoint: `${issuer}/oauth/revoke`,
            introspection_endpoint: `${issuer}/oauth/introspect`,
            grant_types_supported: ['client_credentials'],
            token_endpoint_auth_methods_supported: ['client_secret_basic'],
            dpop_signing_alg_values_supported: ['ES256', 'EdDSA', 'RS256'],
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/agents$/,
      handle: admin((_r, _p, url) => page([...agents.values()].map(view), url)),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/agents\/([^/]+)$/,
      handle: admin((_r, [id]) => (agents.has(id!) ? { status: 200, json: view(agents.get(id!)!) } : notFound(id!))),
    },
    {
      method: 'PATCH',
      pattern: /^\/api\/v1\/agents\/([^/]+)$/,
      handle: admin((req, [id]) => {
        const a = agents.get(id!);
        if (!a) return notFound(id!);
        const body = parseJson(req);
        if (!body.ok) return err(400, 'invalid_request', 'missing or malformed JSON body');
        if ('active' in body.value && typeof body.value.active !== 'boolean')
          return err(400, 'invalid_request', 'active must be a boolean');
        if (body.value.active === false && a.active && !fake.faults.ignoreDeactivate) {
          a.active = false;
          const revoked = tokens.filter((t) => t.agent_id === a.id && t.active);
          for (const t of revoked) t.active = false;
          emit('agent.deactivated_with_revocation', a.id, {
            revoked_token_count: revoked.length,
            client_id: a.client_id,
          });
        } else if (body.value.active === true) a.active = true;
        if (typeof body.value.name === 'string') a.name = body.value.name;
        return { status: 200, json: view(a) };
      }),
    },
    {
      method: 'POST',
      pattern: /^\/api\/v1\/agents\/([^/]+)\/rotate-dpop-key$/,
      handle: admin(async (req, [id]) => {
        const a = agents.get(id!);
        if (!a) return notFound(id!);
        const body = parseJson(req);
        const given = body.ok ? body.value.new_public_jwk : undefined;
        if (!body.ok || typeof given !== 'object' || given === null)
          return err(400, 'invalid_request', 'new_public_jwk is required');
        const jwk = given as JWK;
        if ('d' in jwk || !['EC', 'RSA', 'OKP'].includes(String(jwk.kty)))
          return err(400, 'invalid_jwk', 'new_public_jwk is not a valid public JWK');
        let newJkt: string;
        try {
          createPublicKey({ key: jwk as never, format: 'jwk' });
          newJkt = await calculateJwkThumbprint(jwk, 'sha256');
        } catch {
          return err(400, 'invalid_jwk', 'new_public_jwk is not a valid JWK');
        }
        const oldJkt = a.jkt;
        const revoked = tokens.filter((t) => t.agent_id === a.id && t.active && t.jkt === oldJkt);
        for (const t of revoked) t.active = false;
        a.jkt = newJkt;
        const e = emit('agent.dpop_key_rotated', a.id, {
          old_jkt: oldJkt,
          new_jkt: newJkt,
          revoked_token_count: revoked.length,
          reason: body.value.reason ?? null,
        });
        const answered = fake.faults.wrongJkt ? newJkt.split('').reverse().join('') : newJkt;
        return {
          status: 200,
          json: { old_jkt: oldJkt, new_jkt: answered, revoked_token_count: revoked.length, audit_event_id: e.id },
        };
      }),
    },
    {
      method: 'POST',
      pattern: /^\/oauth\/token$/,
      handle: (req) => {
        const a = client(req);
        if (!a) return err(401, 'invalid_client', 'client authentication failed');
        if (form(req).get('grant_type') !== 'client_credentials')
          return err(400, 'unsupported_grant_type', 'client_credentials only');
        if (!a.active) return err(400, 'invalid_client', 'agent is deactivated');
        const t: FakeToken = {
          token: `at_${rand(24)}`,
          agent_id: a.id,
          jkt: a.jkt,
          active: true,
          exp: Math.floor(Date.now() / 1000) + 3600,
        };
        tokens.push(t);
        return {
          status: 200,
          json: { access_token: t.token, token_type: a.jkt ? 'DPoP' : 'Bearer', expires_in: 3600 },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/oauth\/introspect$/,
      handle: (req) => {
        const caller = client(req);
        if (!caller) return err(401, 'invalid_client', 'client authentication failed');
        const t = tokens.find((x) => x.token === form(req).get('token'));
        if (!t || !t.active || t.exp * 1000 < Date.now()) return { status: 200, json: { active: false } };
        const a = agents.get(t.agent_id)!;
        return {
          status: 200,
          json: {
            active: true,
            client_id: a.client_id,
            scope: a.scopes.join(' '),
            exp: t.exp,
            token_type: a.jkt ? 'DPoP' : 'Bearer',
            ...(t.jkt ? { cnf: { jkt: t.jkt } } : {}),
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/oauth\/revoke$/,
      handle: (req) => {
        const caller = client(req);
        if (!caller) return err(401, 'invalid_client', 'client authentication failed');
        const t = tokens.find((x) => x.token === form(req).get('token') && x.agent_id === caller.id);
        if (t) t.active = false;
        return { status: 200 };
      },
    },
  ];
  const server = await startFakeServer(routes, opts.port);
  fake = Object.assign(server, {
    agents,
    tokens,
    audit,
    addAgent,
    faults: { ignoreDeactivate: false, wrongJkt: false },
  });
  return fake;
}

function page(items: unknown[], url: URL): Reply {
  const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 20) || 20, 1), 100);
  const p = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
  return {
    status: 200,
    json: { data: items.slice((p - 1) * perPage, p * perPage), page: p, per_page: perPage, total: items.length },
  };
}
