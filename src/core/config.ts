import { usageError } from './errors.js';
import { secretInText, secretOnArgv } from './secrets.js';
import { SETTINGS, checkSetting, isKnownKey } from './config-values.js';
import { configFilePath, readConfigFile, writeConfigFile, type ConfigFile } from './config-file.js';
import { jsonText } from './json.js';

/**
 * Settings, their environment variables, and where a value came from.
 * Precedence: flags > TOURNIQUET_* environment > the profile > defaults.
 * Secrets are never stored here: only references to them (a file path, an env var name).
 */
export { SETTINGS, defaultStateDir, type SettingSpec } from './config-values.js';
export { configDir, readConfigFile, type ConfigFile } from './config-file.js';

export type Source = 'flag' | 'env' | 'profile' | 'default' | 'unset';

export interface Resolved {
  key: string;
  value: string | undefined;
  source: Source;
  /** The env var name or profile name the value came from. */
  origin?: string;
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
    if (spec?.env && this.env[spec.env]) {
      // The environment is a place for secrets (a database URL with its password), so only the value's kind is checked.
      const value = this.env[spec.env]!;
      const problem = spec.check?.(value);
      if (problem) throw usageError(`${spec.env} is "${value}": ${problem}`, `fix or unset ${spec.env}`);
      return { key, value, source: 'env', origin: spec.env };
    }
    const stored = this.values[key];
    if (stored !== undefined)
      return {
        key,
        value: Array.isArray(stored) ? stored.join(':') : jsonText(stored),
        source: 'profile',
        origin: this.profile,
      };
    const fallback = spec?.default?.(this.env);
    return fallback !== undefined
      ? { key, value: fallback, source: 'default' }
      : { key, value: undefined, source: 'unset' };
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

export function currentProfile(
  file: ConfigFile,
  flag: string | undefined,
  env: Record<string, string | undefined>,
): string {
  return flag || env.TOURNIQUET_PROFILE || file.current || 'default';
}

export function loadSettings(
  env: Record<string, string | undefined>,
  profileFlag?: string,
  flags: Record<string, string | undefined> = {},
): Settings {
  const file = readConfigFile(env);
  const profile = currentProfile(file, profileFlag, env);
  const values = file.profiles?.[profile];
  if (profileFlag && !values)
    throw usageError(
      `no profile named "${profile}"`,
      `create it with: tourniquet config set --profile ${profile} proxy_url URL`,
    );
  return new Settings(profile, values ?? {}, env, flags);
}

/**
 * Writes go to one profile, after the same checks as a read: an unknown key, a value of the wrong
 * kind or one carrying a secret is refused (exit 2) and nothing is written.
 */
export function writeSetting(
  env: Record<string, string | undefined>,
  profileFlag: string | undefined,
  key: string,
  value: string | undefined,
): string {
  if (!/^[a-z][a-z0-9_.]*$/.test(key)) throw usageError(`"${key}" is not a setting name (lowercase, digits, _ and .)`);
  const file = readConfigFile(env);
  const profile = currentProfile(file, profileFlag, env);
  if (value !== undefined) {
    if (secretInText(value)) throw secretOnArgv();
    const stored = SETTINGS[key]?.list ? value.split(':').filter(Boolean) : value;
    const problem = checkSetting(key, stored);
    if (problem) throw usageError(problem, isKnownKey(key) ? undefined : 'see them all: tourniquet config list');
  } else if (!isKnownKey(key) && file.profiles?.[profile]?.[key] === undefined)
    throw usageError(`unknown setting "${key}"`, 'see them all: tourniquet config list');
  const profiles = { ...(file.profiles ?? {}) };
  const current = { ...(profiles[profile] ?? {}) };
  if (value === undefined) delete current[key];
  else current[key] = SETTINGS[key]?.list ? value.split(':').filter(Boolean) : value;
  profiles[profile] = current;
  writeConfigFile(env, { ...file, profiles });
  return profile;
}

export function useProfile(env: Record<string, string | undefined>, profile: string): void {
  const file = readConfigFile(env);
  if (!file.profiles?.[profile])
    throw usageError(
      `no profile named "${profile}"`,
      `create it first: tourniquet config set --profile ${profile} proxy_url URL`,
    );
  writeConfigFile(env, { ...file, current: profile });
}

/** Where the config file is (reading never writes: nothing is created to answer this). */
export function configPath(env: Record<string, string | undefined>): string {
  return configFilePath(env);
}
