import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A hostile stand-in for the proxy's admin API, on a real loopback socket. In `valid` mode it is
 * a small but correct admin API (docs/admin-api.md): one instance, one active vault key, a data
 * plane that answers the drill's probes. Every other mode perturbs every route the same way:
 * the failures an on-call engineer meets at 02:14 (a load balancer's HTML 502, a truncated body,
 * a 200 of the wrong shape, a hang, a drip, a redirect, refused credentials, an instance row that
 * names another host, a revoke the store could not keep).
 *
 * `other` is a second server on another host (127.0.0.2): the redirect target and the rogue
 * instance. It records every request, so a test can prove it never saw the admin token.
 */
export const HOSTILE_MODES = [
  'html-502',
  'truncated-json',
  'wrong-shape',
  'hang',
  'slow-drip',
  'endless-drip',
  'redirect',
  '401',
  '403',
  'foreign-instance',
  'not-durable',
] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number] | 'valid' | 'verdict-without-refused';

export const HOSTILE_TOKEN = 'admin-token-hostile-0123456789abcdef';
export const KEY_ID = 'vk_id_hostile0001';
const KEY_SECRET = 'vk_' + 'h'.repeat(40);

export interface Seen {
  method: string;
  url: string;
  authorization?: string;
}

export interface Hostile {
  url: string;
  mode: HostileMode;
  requests: Seen[];
  other: { url: string; requests: Seen[] };
  close(): Promise<void>;
}

type Reply = [number, unknown];

function listen(server: Server, host: string): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`)),
  );
}

const now = () => new Date().toISOString();
const view = (id = KEY_ID) => ({
  id,
  vendor: 'stripe',
  status: 'active',
  hint: 'vk_…hhhh',
  allowed_endpoints: null,
  daily_usd_cap: null,
  per_call_amount_cap: null,
  calls_per_minute: null,
  customer_id_path: null,
  agent_run_id: 'run_hostile',
  labels: { agent: 'refunder' },
  upstream_key_id: null,
  created_at: now(),
  expires_at: null,
  revoked_at: null,
  revoke_mode: null,
  rolled_from: null,
});
const summary = {
  calls_total: 0,
  by_verdict: {},
  calls_allowed: 0,
  cost_usd: 0,
  customers: [],
  endpoints: [],
  per_minute: [],
  first_call: null,
  last_call: null,
  agent_runs: [],
  vault_keys: [],
  outcome_unknown: { calls: 0, amount_usd_estimated: 0, pending: 0 },
};

/** The correct answer of the small admin API, per route. */
function validAnswer(
  req: { method: string; path: string },
  self: string,
  other: string,
  mode: HostileMode,
  revoked: Set<string>,
): Reply {
  const { method, path } = req;
  const instances = [
    { instance_id: 'i-self', data_plane_url: self, admin_url: self, last_sync_at: now(), revision: 1 },
  ];
  if (mode === 'foreign-instance')
    instances.push({
      instance_id: 'i-rogue',
      data_plane_url: other,
      admin_url: other,
      last_sync_at: now(),
      revision: 1,
    });
  if (method === 'GET' && path === '/v1/instances') return [200, { data: instances }];
  if (method === 'GET' && path === '/v1/health')
    return [200, { status: 'ok', instance_id: 'i-self', data_plane_url: self, admin_url: self }];
  if (method === 'GET' && path === '/v1/vault-keys') return [200, { data: [view()] }];
  if (method === 'POST' && path === '/v1/vault-keys') return [201, { ...view('vk_id_issued0001'), secret: KEY_SECRET }];
  let m = /^\/v1\/vault-keys\/([^/]+)\/verdict$/.exec(path);
  if (method === 'GET' && m) {
    const refused = revoked.has(m[1]!);
    const body: Record<string, unknown> = {
      instance_id: 'i-self',
      vault_key_id: m[1],
      refused,
      verdict: refused ? 'vault_key_revoked' : 'allowed',
      revision: 2,
    };
    if (mode === 'verdict-without-refused') delete body.refused;
    return [200, body];
  }
  m = /^\/v1\/vault-keys\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) return [200, view(m[1])];
  if (method === 'DELETE' && m) {
    const already = revoked.has(m[1]!);
    revoked.add(m[1]!);
    return [
      200,
      {
        id: m[1],
        status: 'revoked',
        effective_at: now(),
        already_revoked: already,
        mode: 'soft',
        in_flight_aborted: 0,
        durable: true,
        fleet: { confirmed: ['i-self'], unconfirmed: [], waited_ms: 0 },
      },
    ];
  }
  if (method === 'GET' && path === '/v1/rates')
    return [
      200,
      {
        data: [
          {
            vault_key_id: KEY_ID,
            agent: 'refunder',
            agent_run_id: 'run_hostile',
            vendor: 'stripe',
            status: 'active',
            calls_per_minute: 1,
            baseline_per_minute: 1,
            spend_usd_10m: 0,
          },
        ],
        at: now(),
      },
    ];
  if (method === 'GET' && path === '/v1/audit') return [200, { data: [], next_cursor: null }];
  if (method === 'GET' && path === '/v1/audit/summary') return [200, summary];
  if (method === 'GET' && path === '/v1/upstream-keys') return [200, { data: [] }];
  return [404, { error: { code: 'not_found', message: `no admin endpoint ${path}` } }];
}

/** The drill's synthetic calls: the proxy answers them itself (no vendor behind this one). */
function dataPlane(req: IncomingMessage, res: ServerResponse, revoked: Set<string>): void {
  const key = /^Bearer (vk_\w+)$/.exec(req.headers.authorization ?? '')?.[1];
  const code = !key
    ? 'vault_key_missing'
    : revoked.has('vk_id_issued0001')
      ? 'vault_key_revoked'
      : 'endpoint_not_allowed';
  send(res, code === 'endpoint_not_allowed' ? 403 : 401, { error: { type: 'tourniquet_error', code, message: code } });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function drip(res: ServerResponse, text: string, everyMs: number, endless: boolean): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  let i = 0;
  const t = setInterval(() => {
    if (i < text.length) res.write(text[i++]!);
    else if (endless) res.write(' ');
    else {
      clearInterval(t);
      res.end();
    }
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

/** The perturbed answer of a hostile mode; undefined: answer as the valid API would. */
function perturb(mode: HostileMode, res: ServerResponse, valid: Reply, other: string, path: string): boolean {
  switch (mode) {
    case 'html-502':
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end(
        '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>',
      );
      return true;
    case 'truncated-json': {
      const text = JSON.stringify(valid[1]);
      res.writeHead(valid[0], { 'content-type': 'application/json' });
      res.end(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      return true;
    }
    case 'wrong-shape':
      send(res, 200, path.endsWith('/verdict') ? { instance_id: 'i-self', verdict: 'vault_key_revoked' } : {});
      return true;
    case 'hang':
      return true; // never answers
    case 'slow-drip':
      drip(res, JSON.stringify(valid[1]), 300, false);
      return true;
    case 'endless-drip':
      drip(res, '{"data": [', 300, true);
      return true;
    case 'redirect':
      res.writeHead(307, { location: `${other}${path}` });
      res.end();
      return true;
    case '401':
      send(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong admin token' } });
      return true;
    case '403':
      send(res, 403, {
        error: { code: 'insufficient_scope', message: 'this token may only read', required_scope: 'operate' },
      });
      return true;
    case 'valid':
    case 'foreign-instance':
    case 'not-durable':
    case 'verdict-without-refused':
      return false;
  }
}

export async function startHostile(mode: HostileMode): Promise<Hostile> {
  const requests: Seen[] = [];
  const otherRequests: Seen[] = [];
  const revoked = new Set<string>();
  const otherServer = createServer((req, res) => {
    otherRequests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    send(res, 200, {});
  });
  const other = await listen(otherServer, '127.0.0.2');
  let self = '';
  const server = createServer((req, res) => {
    req.resume();
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization });
    if (!path.startsWith('/v1/') || path === '/v1/health-probe') return dataPlane(req, res, revoked);
    if (req.headers.authorization !== `Bearer ${HOSTILE_TOKEN}`)
      return send(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong admin token' } });
    if (mode === 'not-durable' && req.method === 'DELETE')
      return send(
        res,
        503,
        {
          error: {
            type: 'tourniquet_error',
            code: 'revoke_not_durable',
            message: 'the store could not record the revoke; this instance refuses the key',
          },
          id: path.split('/').pop(),
          refused_here: true,
        },
        { 'retry-after': '1' },
      );
    const valid = validAnswer({ method: req.method ?? 'GET', path }, self, other, mode, revoked);
    if (!perturb(mode, res, valid, other, path)) send(res, valid[0], valid[1]);
  });
  self = await listen(server, '127.0.0.1');
  return {
    url: self,
    mode,
    requests,
    other: { url: other, requests: otherRequests },
    async close() {
      for (const s of [server, otherServer]) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    },
  };
}

/** The networked commands the hostile matrix runs, by name (the new key file is for rotate). */
export function hostileCommands(newKeyFile: string): Record<string, string[]> {
  return {
    revoke: ['revoke', KEY_ID, '--yes', '--json'],
    rotate: ['rotate', 'stripe', '--yes', '--json', '--new-key-file', newKeyFile, '--tail-timeout', '0'],
    issue: ['issue', '--vendor', 'stripe', '--json'],
    doctor: ['doctor', '--json'],
    'watch --once': ['watch', '--once', '--json'],
    'damage --source proxy': ['damage', '--source', 'proxy', '--json', '--since', '30m'],
    drill: ['drill', '--json', '--warmup', '200ms', '--observe', '200ms'],
    'incident --yes': ['incident', '--yes', '--json', '--scenario', 'runaway-loop', '--vault-key', KEY_ID],
  };
}
