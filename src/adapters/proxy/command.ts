import { spawn } from 'node:child_process';
import { lazyHttp } from './client.js';
import { TourniquetError, usageError } from '../../core/errors.js';
import { fieldOf, isRecord } from '../../core/json.js';
import { unsupported, unsupportedCall, type InstanceProbe, type ProxyAdapter, type RevokeOutcome } from './types.js';

/**
 * An in-house proxy, driven by configuration: each action names an HTTP call or a shell
 * command, with `{vault_key_id}` placeholders. Secrets never reach argv: a shell command gets
 * the admin token as $TOURNIQUET_ADMIN_TOKEN and the id as $VAULT_KEY_ID; an HTTP call may use
 * `{admin_token}` in a header value only.
 *
 *   proxy:
 *     commands:
 *       revoke: { http: { method: POST, url: "https://keys.internal/v1/keys/{vault_key_id}/disable",
 *                         headers: { authorization: "Bearer {admin_token}" } } }
 *       probe:  { shell: "keyctl status \"$VAULT_KEY_ID\" | grep -q disabled" }
 *
 * Outcomes, by convention: revoke — HTTP 2xx or exit 0 is revoked, 409 or exit 3 already
 * revoked, 404 or exit 4 not found; probe — HTTP 2xx or exit 0 means the proxy refuses the key.
 */
export interface HttpAction {
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}
export type CommandAction = { http: HttpAction } | { shell: string };
export type CommandActions = Partial<Record<'revoke' | 'probe', CommandAction>>;

const SAFE_ID = /^[A-Za-z0-9_.:@-]{1,200}$/;

function fill(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? encodeURIComponent(vars[k]!) : m));
}

export function parseCommandActions(raw: unknown): CommandActions {
  const commands = fieldOf(raw, 'commands');
  if (!isRecord(commands))
    throw usageError(
      'proxy_kind is "command" but the profile has no proxy.commands table',
      'add proxy.commands.revoke (an http call or a shell command) to the profile',
    );
  const out: CommandActions = {};
  for (const [name, value] of Object.entries(commands)) {
    if (name !== 'revoke' && name !== 'probe') continue;
    const shell = fieldOf(value, 'shell');
    const http = fieldOf(value, 'http');
    if (typeof shell === 'string') out[name] = { shell };
    else if (isRecord(http) && typeof http.url === 'string') out[name] = { http: httpAction(name, http, http.url) };
    else throw usageError(`proxy.commands.${name} needs either "shell" or "http.url"`);
  }
  return out;
}

/** The http action as configured; a method or header that is not text is a configuration error, not a crash later. */
function httpAction(name: string, http: Record<string, unknown>, url: string): HttpAction {
  const { method, headers, body } = http;
  if (method !== undefined && typeof method !== 'string')
    throw usageError(`proxy.commands.${name}.http.method must be text (e.g. POST)`);
  if (headers !== undefined && !(isRecord(headers) && Object.values(headers).every((v) => typeof v === 'string')))
    throw usageError(`proxy.commands.${name}.http.headers must map header names to text`);
  return { method, url, headers: headers as Record<string, string> | undefined, body };
}

export interface CommandProxyOptions {
  actions: CommandActions;
  adminToken?: string;
  trace?: (line: string) => void;
}

export function createCommandProxy(opts: CommandProxyOptions): ProxyAdapter {
  const describe = (op: string, a: Record<string, string | undefined> = {}): string => {
    const action = opts.actions[op as keyof CommandActions];
    if (!action) return `${op}: not configured in proxy.commands`;
    if ('shell' in action) return `sh -c ${JSON.stringify(action.shell)} (VAULT_KEY_ID=${a.id})`;
    return `${(action.http.method ?? 'POST').toUpperCase()} ${fill(action.http.url, { vault_key_id: a.id ?? '' })}`;
  };

  async function perform(op: 'revoke' | 'probe', id: string): Promise<number> {
    const action = opts.actions[op];
    if (!action) throw unsupported('command', `${op} (no proxy.commands.${op} in the profile)`);
    if (!SAFE_ID.test(id)) throw usageError(`"${id}" is not a vault key id this adapter will pass to a command`);
    opts.trace?.(`→ ${describe(op, { id })}`);
    if ('shell' in action) return runShell(action.shell, id, opts.adminToken);
    const h = action.http;
    const url = new URL(fill(h.url, { vault_key_id: id }));
    const headers = Object.fromEntries(
      Object.entries(h.headers ?? {}).map(([k, v]) => [k, v.replace('{admin_token}', opts.adminToken ?? '')]),
    );
    const client = lazyHttp({ baseUrl: url.origin, name: `the proxy (${op})`, headers, trace: opts.trace });
    const res = await client.request({
      method: (h.method ?? 'POST').toUpperCase() as 'POST',
      path: url.pathname + url.search,
      json: h.body,
      accept: [404, 409, 410, 422],
    });
    return res.status;
  }

  return {
    kind: 'command',
    capabilities: {
      hardRevoke: false,
      revokeAllUnder: false,
      issue: false,
      roll: false,
      probe: Boolean(opts.actions.probe),
      upstreamKeys: false,
      audit: false,
    },
    describe,
    async revokeVaultKey(id): Promise<RevokeOutcome> {
      const code = await perform('revoke', id);
      if (code === 404 || code === 4) return { status: 'not-found', vault_key_id: id };
      const effective_at = new Date().toISOString();
      if (code === 409 || code === 3) return { status: 'already-revoked', vault_key_id: id, effective_at };
      if (code === 0 || (code >= 200 && code < 300)) return { status: 'revoked', vault_key_id: id, effective_at };
      throw new TourniquetError(
        'step-failed',
        `the revoke command for ${id} failed (${code < 100 ? `exit ${code}` : `HTTP ${code}`})`,
      );
    },
    revokeAllUnder: unsupportedCall('command', 'revoke every vault key under a production key (name the keys instead)'),
    instances() {
      return Promise.resolve([{ instance_id: 'proxy', data_plane_url: '' }]);
    },
    async probeVaultKey(id, instance): Promise<InstanceProbe> {
      const code = await perform('probe', id);
      const refused = code === 0 || (code >= 200 && code < 300);
      return { instance_id: instance.instance_id, refused, code: refused ? 'refused' : 'allowed' };
    },
    listVaultKeys: unsupportedCall('command', 'list vault keys'),
    getVaultKey: () => Promise.resolve(undefined),
    issueVaultKey: unsupportedCall('command', 'issue vault keys'),
    rollVaultKey: unsupportedCall('command', 'roll vault keys'),
    listUpstreamKeys: unsupportedCall('command', 'list production keys'),
    addUpstreamKey: unsupportedCall('command', 'add a production key'),
    promoteUpstreamKey: unsupportedCall('command', 'promote a production key'),
    retireUpstreamKey: unsupportedCall('command', 'retire a production key'),
    audit: () => Promise.resolve([]),
  };
}

/** Run a configured shell command; the id and the token travel in the environment, never argv. */
function runShell(command: string, id: string, token: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, VAULT_KEY_ID: id, TOURNIQUET_ADMIN_TOKEN: token ?? '' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 30000);
    child.on('error', (err) =>
      reject(new TourniquetError('step-failed', `could not run the proxy command: ${err.message}`)),
    );
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code ?? 1);
    });
  });
}
