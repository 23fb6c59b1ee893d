import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TourniquetError, usageError } from './errors.js';
import { checkSetting } from './config-values.js';
import { decodeUtf8 } from './text-input.js';
import { isRecord } from './json.js';

/**
 * The config file: `$XDG_CONFIG_HOME/tourniquet/config.json`, `{current, profiles: {name: {key: value}}}`.
 * Read on every command, so it is checked on every read: a directory where the file should be, a
 * file we may not read, bytes that are not UTF-8 or JSON, a value of the wrong kind
 * (`proxy_url: 42`), an unknown key, a secret: each is exit 2 naming the file, profile and key.
 * Reading never writes. Writing is atomic (a temp file renamed over it), the file 0600 and the
 * directory 0700 when we create it.
 */
export interface ConfigFile {
  current?: string;
  profiles?: Record<string, Record<string, unknown>>;
}

/** Larger than any real profile set; a bigger file is a mistake, not a config. */
export const MAX_CONFIG_BYTES = 1 << 20;

export function configDir(env: Record<string, string | undefined>): string {
  return env.TOURNIQUET_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config'), 'tourniquet');
}

export const configFilePath = (env: Record<string, string | undefined>) => join(configDir(env), 'config.json');

const bad = (file: string, what: string) =>
  usageError(
    `the config file ${file} ${what}`,
    'fix it by hand, or move it away to start over (tourniquet config set writes a new one)',
  );

function readText(file: string): string | undefined {
  let bytes: Buffer;
  try {
    if (statSync(file).size > MAX_CONFIG_BYTES) throw bad(file, `is larger than ${MAX_CONFIG_BYTES} bytes`);
    bytes = readFileSync(file);
  } catch (err) {
    if (err instanceof TourniquetError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'EISDIR') throw bad(file, 'is a directory');
    throw bad(file, `cannot be read (${code ?? (err as Error).message})`);
  }
  const text = decodeUtf8(bytes);
  if (text === undefined) throw bad(file, 'is not UTF-8 text');
  return text;
}

/** The config file, checked (see above); an absent one is empty. */
export function readConfigFile(env: Record<string, string | undefined>): ConfigFile {
  const file = configFilePath(env);
  const text = readText(file);
  if (text === undefined || text.trim() === '') return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw bad(file, `is not valid JSON (${(err as Error).message})`);
  }
  return checkConfigFile(file, data);
}

export function checkConfigFile(file: string, data: unknown): ConfigFile {
  if (!isRecord(data)) throw bad(file, 'is not a JSON object');
  if (data.current !== undefined && typeof data.current !== 'string')
    throw bad(file, `has "current": ${JSON.stringify(data.current)}, not a profile name`);
  if (data.profiles !== undefined && !isRecord(data.profiles)) throw bad(file, 'has "profiles" that is not an object');
  for (const [name, values] of Object.entries(data.profiles ?? {})) {
    if (!isRecord(values)) throw bad(file, `has profile "${name}" that is not an object`);
    for (const [key, value] of Object.entries(values)) {
      const problem = checkSetting(key, value);
      if (problem)
        throw usageError(
          `the config file ${file}, profile "${name}": ${problem}`,
          `fix it by hand, or: tourniquet config ${problem.startsWith('unknown') ? 'unset' : 'set'} --profile ${name} ${key}${problem.startsWith('unknown') ? '' : ' VALUE'}`,
        );
    }
  }
  return data;
}

/** Write the whole file atomically: 0600 file, 0700 directory (created if missing). */
export function writeConfigFile(env: Record<string, string | undefined>, config: ConfigFile): string {
  const dir = configDir(env);
  const file = configFilePath(env);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(config, null, '\t') + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TourniquetError(
      'step-failed',
      `cannot write the config file ${file}: ${code === 'EISDIR' ? 'it is a directory' : (code ?? (err as Error).message)}`,
      {
        hint: 'check the directory and its permissions, or point TOURNIQUET_CONFIG_DIR somewhere writable',
      },
    );
  }
  return file;
}
