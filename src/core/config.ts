import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { usageError } from './errors.js';
import { looksLikeSecret } from './secrets.js';

/**
 * Settings, their environment variables, and where a value came from.
 * Precedence: flags > TOURNIQUET_* environment > the profile > defaults.
 * Secrets are never stored here: only references to them (a file path, an env var name).
 */
export interface SettingSpec {
  env?: string;
  description: string;
  list?: boolean;
  default?: (env: Record<string, string | undefined>) => string | undefined;
}

export const SETTINGS: Record<string, SettingSpec> = {
  proxy_url: { env: 'TOURNIQUET_PROXY_URL', description: "the proxy's admin API base URL" },
  admin_token_file: { env: 'TOURNIQUET_ADMIN_TOKEN_FILE', description: 'file holding the proxy admin token' },
  admin_token_env: { description: 'name of the environment variable holding the proxy admin token', default: () => 'TOURNIQUET_ADMIN_TOKEN' },
  proxy_kind: { description: 'the proxy in front of the vendors: tourniquet, litellm or command', default: () => 'tourniquet' },
  state_dir: { env: 'TOURNIQUET_STATE_DIR', description: 'where incidents and their journals are kept', default: defaultStateDir },
  playbooks: { env: 'TOURNIQUET_PLAYBOOKS', description: 'extra playbook directories (: separated)', list: true },
  audit_source: { env: 'TOURNIQUET_AUDIT_SOURCE', description: 'where damage reads audit rows: proxy, a postgres:// URL, or a path' },
  webhook_url: { env: 'TOURNIQUET_WEBHOOK_URL', description: 'Slack-compatible incoming webhook for --notify and watch alerts' },
  timeout_ms: { env: 'TOURNIQUET_TIMEOUT_MS', description: 'the most one call to the proxy admin API may take, in milliseconds (connect to last byte)', default: () => '5000' },
  deadline_ms: { env: 'TOURNIQUET_DEADLINE_MS', description: 'the most a networked command may wait on the network in all, in milliseconds (--deadline wins)' },
  trusted_instances: { env: 'TOURNIQUET_TRUSTED_INSTANCES', description: 'origins of proxy instances, besides proxy_url, trusted with the admin token: https://proxy-*.internal:8788, comma-separated' },
};

export function defaultStateDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'tourniquet');
}

export type Source = 'flag' | 'env' | 'profile' | 'default' | 'unset';

export interface Resolved {
  key: string;
  value: string | undefined;
  source: Source;
  /** The env var name or profile name the value came from. */
  origin?: string;
}

export interface ConfigFile {
  current?: string;
  profiles?: Record<string, Record<string, unknown>>;
}

/** Read-only view of one profile, with the precedence rules applied. */
export class Settings {
  constructor(
    readonly profile: string,
    private readonly values: Record<string, unknown>,
    private readonly env: Record<string, string | undefined>,
    private readonly flags: Record<string, string | undefined> = {},
  ) {}

  resolve(key: string): Resolved {
    const spec = SETTINGS[key];
    const flag = this.flags[key];
    if (flag !== undefined) return { key, value: flag, source: 'flag' };
    if (spec?.env && this.env[spec.env]) return { key, value: this.env[spec.env], source: 'env', origin: spec.env };
    const stored = this.values[key];
    if (stored !== undefined) return { key, value: Array.isArray(stored) ? stored.join(':') : String(stored), source: 'profile', origin: this.profile };
    const fallback = spec?.default?.(this.env);
    return fallback !== undefined ? { key, value: fallback, source: 'default' } : { key, value: undefined, source: 'unset' };
  }

  get(key: string): string | undefined {
    return this.resolve(key).value;
  }

  list(key: string): string[] {
    return (this.get(key) ?? '').split(':').filter(Boolean);
  }

  /** Profile values that are not among the known settings (vendor settings and the like). */
  raw(key: string): unknown {
    return this.values[key];
  }

  all(): Resolved[] {
    const keys = new Set([...Object.keys(SETTINGS), ...Object.keys(this.values)]);
    return [...keys].map((k) => this.resolve(k));
  }
}

export function configDir(env: Record<string, string | undefined>): string {
  return env.TOURNIQUET_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'tourniquet');
}

/** conf is loaded only when a command needs the profile: it is not on the --help path. */
async function openStore(env: Record<string, string | undefined>) {
  const { default: Conf } = await import('conf');
  return new Conf<ConfigFile>({ projectName: 'tourniquet', cwd: configDir(env), configFileMode: 0o600, defaults: { profiles: {} } });
}

export function currentProfile(file: ConfigFile, flag: string | undefined, env: Record<string, string | undefined>): string {
  return flag || env.TOURNIQUET_PROFILE || file.current || 'default';
}

/**
 * Reads go straight to the JSON file conf writes (no conf, no ajv on the 2am path);
 * writes go through conf, which keeps the file mode at 0600 and writes atomically.
 */
export function readConfigFile(env: Record<string, string | undefined>): ConfigFile {
  const file = join(configDir(env), 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  try {
    return JSON.parse(text) as ConfigFile;
  } catch {
    throw usageError(`the config file ${file} is not valid JSON`, 'fix it by hand, or move it away to start over');
  }
}

export async function loadSettings(
  env: Record<string, string | undefined>,
  profileFlag?: string,
  flags: Record<string, string | undefined> = {},
): Promise<Settings> {
  const file = readConfigFile(env);
  const profile = currentProfile(file, profileFlag, env);
  const values = file.profiles?.[profile];
  if (profileFlag && !values) throw usageError(`no profile named "${profile}"`, `create it with: tourniquet config set --profile ${profile} proxy_url URL`);
  return new Settings(profile, values ?? {}, env, flags);
}

/** Writes go to one profile; a value that looks like a secret is refused. */
export async function writeSetting(env: Record<string, string | undefined>, profileFlag: string | undefined, key: string, value: string | undefined): Promise<string> {
  if (!/^[a-z][a-z0-9_.]*$/.test(key)) throw usageError(`"${key}" is not a setting name (lowercase, digits, _ and .)`);
  if (value !== undefined && looksLikeSecret(value))
    throw usageError('that value looks like a secret; tourniquet stores only references to secrets', 'store a file path (admin_token_file) or an environment variable name instead');
  const store = await openStore(env);
  const profile = currentProfile(store.store, profileFlag, env);
  const profiles = { ...(store.get('profiles') ?? {}) };
  const current = { ...(profiles[profile] ?? {}) };
  if (value === undefined) delete current[key];
  else current[key] = SETTINGS[key]?.list ? value.split(':').filter(Boolean) : value;
  profiles[profile] = current;
  store.set('profiles', profiles);
  return profile;
}

export async function useProfile(env: Record<string, string | undefined>, profile: string): Promise<void> {
  const store = await openStore(env);
  if (!store.get('profiles')?.[profile]) throw usageError(`no profile named "${profile}"`, `create it first: tourniquet config set --profile ${profile} proxy_url URL`);
  store.set('current', profile);
}

export async function configPath(env: Record<string, string | undefined>): Promise<string> {
  return (await openStore(env)).path;
}
