import { homedir } from 'node:os';
import { join } from 'node:path';
import { secretInText } from './secrets.js';
import { parseTrustPatterns } from '../adapters/proxy/trust.js';

/**
 * Every setting, its environment variable, and what a valid value is. Checked when a value is
 * set and when the file is read, so `proxy_url: 42` or `timeout_ms: -5` never reaches a command
 * as something else. Secrets are never stored here: only references to them (a file path, an
 * environment variable name); a value carrying a key or a password in a URL is refused.
 */
export interface SettingSpec {
  env?: string;
  description: string;
  list?: boolean;
  default?: (env: Record<string, string | undefined>) => string | undefined;
  /** What is wrong with a value, or undefined. */
  check?: (value: string) => string | undefined;
}

function httpUrl(v: string): string | undefined {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:' ? undefined : 'not an http(s) URL';
  } catch {
    return 'not a URL';
  }
}

const wholeMs = (max: number) => (v: string) => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 && n <= max
    ? undefined
    : `not a whole number of milliseconds between 1 and ${max}`;
};
const nonEmpty = (v: string) => (v.trim() ? undefined : 'empty');
const oneOf = (values: string[]) => (v: string) => (values.includes(v) ? undefined : `not one of ${values.join(', ')}`);
const envName = (v: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : 'not an environment variable name');
const patterns = (v: string) => {
  try {
    parseTrustPatterns(v);
    return undefined;
  } catch (err) {
    return (err as Error).message.replace(/^trusted_instances: /, '');
  }
};

/** `90d`, `12w`, `36h` (core/rotation/policy.ts reads them). */
const keyAge = (v: string) => (/^\s*\d+(\.\d+)?\s*[hdw]\s*$/i.test(v) ? undefined : 'not a key age (90d, 12w, 36h)');

export function defaultStateDir(env: Record<string, string | undefined>): string {
  return join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'tourniquet');
}

export const SETTINGS: Record<string, SettingSpec> = {
  proxy_url: { env: 'TOURNIQUET_PROXY_URL', description: "the proxy's admin API base URL", check: httpUrl },
  admin_token_file: {
    env: 'TOURNIQUET_ADMIN_TOKEN_FILE',
    description: 'file holding the proxy admin token',
    check: nonEmpty,
  },
  admin_token_env: {
    description: 'name of the environment variable holding the proxy admin token',
    default: () => 'TOURNIQUET_ADMIN_TOKEN',
    check: envName,
  },
  proxy_kind: {
    description: 'the proxy in front of the vendors: tourniquet, litellm or command',
    default: () => 'tourniquet',
    check: oneOf(['tourniquet', 'litellm', 'command']),
  },
  state_dir: {
    env: 'TOURNIQUET_STATE_DIR',
    description: 'where incidents and their journals are kept',
    default: defaultStateDir,
    check: nonEmpty,
  },
  playbooks: { env: 'TOURNIQUET_PLAYBOOKS', description: 'extra playbook directories (: separated)', list: true },
  audit_source: {
    env: 'TOURNIQUET_AUDIT_SOURCE',
    description: 'where damage reads audit rows: proxy, a postgres:// URL, or a path',
    check: nonEmpty,
  },
  webhook_url: {
    env: 'TOURNIQUET_WEBHOOK_URL',
    description: 'Slack-compatible incoming webhook for --notify and watch alerts',
    check: httpUrl,
  },
  timeout_ms: {
    env: 'TOURNIQUET_TIMEOUT_MS',
    description: 'the most one call to the proxy admin API may take, in milliseconds (connect to last byte)',
    default: () => '5000',
    check: wholeMs(600_000),
  },
  deadline_ms: {
    env: 'TOURNIQUET_DEADLINE_MS',
    description: 'the most a networked command may wait on the network in all, in milliseconds (--deadline wins)',
    check: wholeMs(86_400_000),
  },
  'rotation.max_age': {
    env: 'TOURNIQUET_ROTATION_MAX_AGE',
    description:
      'oldest a production key may get before rotate --if-due replaces it (90d); rotation.max_age.VENDOR or .UPSTREAM_KEY_ID for one',
    check: keyAge,
  },
  trusted_instances: {
    env: 'TOURNIQUET_TRUSTED_INSTANCES',
    description:
      'origins of proxy instances, besides proxy_url, trusted with the admin token: https://proxy-*.internal:8788, comma-separated',
    check: patterns,
  },
};

/** Keys that other parts of the tool read from the profile (their own tables and flat `a.b.c` forms). */
const EXTRA_KEYS = new Set(['audit_columns', 'audit_table']);
const TABLES = ['vendors', 'agents', 'oauth', 'proxy', 'rotation'];

export function isKnownKey(key: string): boolean {
  return key in SETTINGS || EXTRA_KEYS.has(key) || TABLES.some((t) => key === t || key.startsWith(`${t}.`));
}

/** Every string inside a value (a table's leaves, a list's items), for the secret check. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

/** What is wrong with `key: value` as stored in the file (strings, numbers for *_ms, lists, tables), or undefined. */
export function checkSetting(key: string, value: unknown): string | undefined {
  if (!isKnownKey(key)) return `unknown setting "${key}" (known: ${Object.keys(SETTINGS).join(', ')})`;
  const secret = strings(value).map(secretInText).find(Boolean);
  if (secret) return `${key} holds a secret (${secret}); tourniquet stores only references to secrets`;
  const spec = SETTINGS[key];
  if (!spec) return undefined; // a table or an extra key: its reader checks its own values
  if (spec.list) {
    const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(':') : undefined;
    return items?.every((i) => typeof i === 'string')
      ? undefined
      : `${key} is ${JSON.stringify(value)}: not a list of paths`;
  }
  const text = typeof value === 'number' && key.endsWith('_ms') ? String(value) : value;
  if (typeof text !== 'string')
    return `${key} is ${JSON.stringify(value)}: ${spec.check === httpUrl ? 'not a URL' : 'not text'}`;
  const problem = spec.check?.(text);
  return problem ? `${key} is "${text}": ${problem}` : undefined;
}
