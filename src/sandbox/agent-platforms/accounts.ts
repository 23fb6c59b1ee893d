import { randomBytes } from 'node:crypto';
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
 * A loopback fake of the agent-accounts API (seed 000), under /v1: list (cursor pagination),
 * get, PATCH status (active|disabled|archived), DELETE, POST create with a budget returning the
 * new agent's api_key once. Agents call POST /v1/calls with their own key: 200 when active,
 * 402 when disabled or archived, 401 once deleted. Errors are {error:{code,message}}.
 */
export interface FakeAccount {
  id: string;
  name: string;
  status: 'active' | 'disabled' | 'archived';
  budget: number;
  api_key: string;
  created_at: number;
}

export interface AccountsFake extends FakeServer {
  /** Base URL to configure (…/v1). */
  baseUrl: string;
  agents: Map<string, FakeAccount>;
  addAgent(name: string, budget?: number, status?: FakeAccount['status']): FakeAccount;
  /** Simulate a broken platform: PATCH answers 200 but changes nothing. */
  ignorePatches: boolean;
}

const STATUSES: readonly FakeAccount['status'][] = ['active', 'disabled', 'archived'];
const err = (status: number, code: string, message: string): Reply => ({ status, json: { error: { code, message } } });
const view = ({ api_key: _k, ...a }: FakeAccount) => a;

export async function startAccountsFake(opts: { adminKey: string; port?: number }): Promise<AccountsFake> {
  const agents = new Map<string, FakeAccount>();
  const deletedKeys = new Set<string>();
  // Routes run only after the server starts, by which time `fake` is set.
  let fake: AccountsFake;
  const addAgent = (name: string, budget = 10, status: FakeAccount['status'] = 'active') => {
    const a: FakeAccount = {
      id: `agt_${randomBytes(6).toString('hex')}`,
      name,
      status,
      budget,
      api_key: `ak_live_${randomBytes(16).toString('hex')}`,
      created_at: Math.floor(Date.now() / 1000),
    };
    agents.set(a.id, a);
    return a;
  };
  const admin =
    (h: (req: Recorded, params: string[], url: URL) => Reply): Route['handle'] =>
    (req, params, url) =>
      bearer(req) === opts.adminKey ? h(req, params, url) : err(401, 'unauthorized', 'invalid API key');
  const routes: Route[] = [
    { method: 'GET', pattern: /^\/v1\/agents$/, handle: admin((_r, _p, url: URL) => list(agents, url)) },
    {
      method: 'GET',
      pattern: /^\/v1\/agents\/([^/]+)$/,
      handle: admin((_r, [id = '']) =>
        agents.has(id) ? { status: 200, json: view(agents.get(id)!) } : err(404, 'not_found', `agent ${id} not found`),
      ),
    },
    {
      method: 'PATCH',
      pattern: /^\/v1\/agents\/([^/]+)$/,
      handle: admin((req, [id = '']) => {
        const a = agents.get(id);
        if (!a) return err(404, 'not_found', `agent ${id} not found`);
        const body = parseJson(req);
        const status = body.ok ? STATUSES.find((s) => s === body.value.status) : undefined;
        if (!status) return err(400, 'invalid_request', 'status must be active, disabled or archived');
        if (!fake.ignorePatches) a.status = status;
        return { status: 200, json: view(a) };
      }),
    },
    {
      method: 'DELETE',
      pattern: /^\/v1\/agents\/([^/]+)$/,
      handle: admin((_r, [id = '']) => {
        const a = agents.get(id);
        if (!a) return err(404, 'not_found', `agent ${id} not found`);
        agents.delete(id);
        deletedKeys.add(a.api_key);
        return { status: 204 };
      }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/agents$/,
      handle: admin((req) => {
        const body = parseJson(req);
        const name = body.ok ? body.value.name : undefined;
        const budget = body.ok ? body.value.budget : undefined;
        if (typeof name !== 'string' || !name) return err(400, 'invalid_request', 'name is required');
        if (typeof budget !== 'number' || !(budget > 0))
          return err(400, 'invalid_request', 'budget must be a positive number');
        const a = addAgent(name, budget);
        return { status: 201, json: { ...view(a), api_key: a.api_key } };
      }),
    },
    {
      method: 'POST',
      pattern: /^\/v1\/calls$/,
      handle: (req) => {
        const key = bearer(req);
        const a = [...agents.values()].find((x) => x.api_key === key);
        if (!a) return err(401, deletedKeys.has(key ?? '') ? 'agent_deleted' : 'unauthorized', 'invalid API key');
        if (a.status !== 'active') return err(402, `agent_${a.status}`, `agent is ${a.status}`);
        return { status: 200, json: { ok: true } };
      },
    },
  ];
  const server = await startFakeServer(routes, opts.port);
  fake = Object.assign(server, { baseUrl: `${server.url}/v1`, agents, addAgent, ignorePatches: false });
  return fake;
}

function list(agents: Map<string, FakeAccount>, url: URL): Reply {
  const limit = Math.min(Math.max(Number(url.searchParams.get('limit') ?? 10) || 10, 1), 100);
  const all = [...agents.values()];
  const after = url.searchParams.get('starting_after');
  const start = after ? all.findIndex((a) => a.id === after) + 1 : 0;
  const page = all.slice(start, start + limit);
  return {
    status: 200,
    json: {
      object: 'list',
      data: page.map(view),
      has_more: start + limit < all.length,
      next_cursor: page.at(-1)?.id ?? null,
    },
  };
}
