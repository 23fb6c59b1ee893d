import type { Settings } from '../../core/config.js';
import { usageError } from '../../core/errors.js';
import { noProxyUrl } from '../../core/first-run.js';
import { readSecret, type SecretInputs } from '../../core/secrets.js';
import { createCommandProxy, parseCommandActions } from './command.js';
import { createLiteLlmProxy } from './litellm.js';
import { createTourniquetProxy } from './tourniquet.js';
import type { ProxyAdapter } from './types.js';

export type { ProxyAdapter } from './types.js';

export const PROXY_KINDS = ['tourniquet', 'litellm', 'command'] as const;

export interface ProxyDeps {
  io: SecretInputs;
  trace?: (line: string) => void;
  /** Every secret read is registered here so output and journal lines are scrubbed of it. */
  register?: (secret: string) => void;
  /** Scrubs registered secrets from text sent to the proxy (labels). */
  scrub?: (text: string) => string;
}

/** The admin token: the file named by admin_token_file wins over the environment variable. */
export async function readAdminToken(
  settings: Settings,
  deps: ProxyDeps,
  required: boolean,
): Promise<string | undefined> {
  const file = settings.get('admin_token_file');
  const envName = settings.get('admin_token_env') ?? 'TOURNIQUET_ADMIN_TOKEN';
  let token: string | undefined;
  if (file) token = await readSecret({ from: 'file', path: file }, deps.io, 'the proxy admin token');
  else if (deps.io.env[envName])
    token = await readSecret({ from: 'env', name: envName }, deps.io, 'the proxy admin token');
  if (!token && required)
    throw usageError(
      'no proxy admin token',
      `set TOURNIQUET_ADMIN_TOKEN_FILE (preferred) or ${envName}, or: tourniquet config set admin_token_file PATH`,
    );
  if (token) deps.register?.(token);
  return token;
}

/**
 * The command adapter's table: a nested `proxy.commands` object in the profile, or flat keys as
 * `tourniquet config set` writes them (`proxy.commands.revoke.shell`, `proxy.commands.revoke.http.url`,
 * `proxy.commands.revoke.http.method`, `proxy.commands.revoke.http.authorization`).
 */
export function commandConfig(settings: Settings): unknown {
  const nested = settings.raw('proxy') as { commands?: Record<string, unknown> } | undefined;
  const commands: Record<string, unknown> = { ...(nested?.commands ?? {}) };
  for (const action of ['revoke', 'probe']) {
    const flat = (k: string) => settings.raw(`proxy.commands.${action}.${k}`) as string | undefined;
    if (flat('shell')) commands[action] = { shell: flat('shell') };
    else if (flat('http.url'))
      commands[action] = {
        http: {
          url: flat('http.url'),
          method: flat('http.method'),
          headers: flat('http.authorization') ? { authorization: flat('http.authorization') } : undefined,
        },
      };
  }
  return Object.keys(commands).length ? { commands } : undefined;
}

/** The total deadline of one admin API call (timeout_ms; validated when the settings are read). */
export function timeoutMs(settings: Settings): number {
  const ms = Number(settings.get('timeout_ms'));
  return Number.isFinite(ms) && ms > 0 ? ms : 5000;
}

/** One factory for every proxy kind; the profile's proxy_kind picks one. */
export async function createProxyAdapter(settings: Settings, deps: ProxyDeps): Promise<ProxyAdapter> {
  const kind = settings.get('proxy_kind') ?? 'tourniquet';
  if (kind === 'command') {
    const actions = parseCommandActions(commandConfig(settings));
    return createCommandProxy({ actions, adminToken: await readAdminToken(settings, deps, false), trace: deps.trace });
  }
  const url = settings.get('proxy_url');
  if (!url) throw noProxyUrl();
  const token = (await readAdminToken(settings, deps, true))!;
  if (kind === 'tourniquet')
    return createTourniquetProxy({
      adminUrl: url,
      adminToken: token,
      trace: deps.trace,
      timeoutMs: timeoutMs(settings),
      trustedInstances: settings.get('trusted_instances'),
      scrub: deps.scrub,
    });
  if (kind === 'litellm') return createLiteLlmProxy({ baseUrl: url, masterKey: token, trace: deps.trace });
  throw usageError(`unknown proxy_kind "${kind}"`, `use one of: ${PROXY_KINDS.join(', ')}`);
}
