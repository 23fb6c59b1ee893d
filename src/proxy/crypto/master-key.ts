import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { TourniquetError, usageError } from '../../core/errors.js';
import { fieldOf, scalarText } from '../../core/json.js';

/**
 * The master key: 32 random bytes that wrap every production key's data key, and never enter
 * the database. It comes from a file, an environment variable, or a command the operator names
 * (a cloud KMS CLI, `vault kv get -field=key …`), so it can live wherever the team keeps secrets.
 *
 * A source may hold several keys, one a line: the first is current (new data keys are wrapped
 * with it), the others are previous keys, kept only to unwrap what they wrapped until a
 * rotation has re-wrapped everything under the current one.
 */
export type MasterKeySource =
  | { from: 'file'; path: string }
  | { from: 'env'; name: string; value: string | undefined }
  | { from: 'command'; command: string };

export interface MasterKey {
  /** `mk_` + 16 hex digits of an HMAC of the key: names the key without revealing it. */
  id: string;
  key: Buffer;
}

const COMMAND_TIMEOUT_MS = 10_000;
const GENERATE_HINT = 'generate one with: openssl rand -base64 32 > master.key && chmod 600 master.key';

export function describeSource(s: MasterKeySource): string {
  return s.from === 'file'
    ? `--master-key-file ${s.path}`
    : s.from === 'env'
      ? `$${s.name}`
      : `--master-key-command "${s.command}"`;
}

export function masterKeyId(key: Buffer): string {
  return 'mk_' + createHmac('sha256', key).update('tourniquet master key id v1').digest('hex').slice(0, 16);
}

/** One key from a line of text: base64 (44 characters) or hex (64), exactly 32 bytes. */
function parseKey(line: string, where: string, n: number): MasterKey {
  const text = line.trim();
  const bytes = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]+={0,2}$/.test(text)
      ? Buffer.from(text, 'base64')
      : null;
  if (!bytes || bytes.length !== 32)
    throw usageError(`the master key on line ${n} of ${where} is not 32 bytes in base64 or hex`, GENERATE_HINT);
  return { id: masterKeyId(bytes), key: bytes };
}

export function parseKeys(text: string, where: string): MasterKey[] {
  const keys: MasterKey[] = [];
  // One key a line (or several on a line, comma-separated: an environment variable has one line).
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trim().startsWith('#')) return;
    for (const part of line.split(',')) if (part.trim()) keys.push(parseKey(part, where, i + 1));
  });
  if (keys.length === 0) throw usageError(`${where} holds no master key`, GENERATE_HINT);
  return keys;
}

async function readFileSource(path: string): Promise<string> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw usageError(
      `cannot read the master key file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      GENERATE_HINT,
    );
  }
  // Anyone who can read this file can read every stored production key.
  if (mode & 0o077)
    throw usageError(
      `the master key file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})`,
      `chmod 600 ${path}`,
    );
  return readFile(path, 'utf8');
}

function runCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      '/bin/sh',
      ['-c', command],
      { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = (err as { killed?: boolean }).killed
          ? `no answer within ${COMMAND_TIMEOUT_MS / 1000} s`
          : `exit ${scalarText(fieldOf(err, 'code')) ?? '?'}`;
        // Only the first line of stderr: enough to say what went wrong, never a whole dump.
        const first = String(stderr).split('\n')[0]?.slice(0, 200) ?? '';
        reject(
          usageError(
            `the master key command failed (${why})${first ? `: ${first}` : ''}`,
            'check the command by running it yourself; it must print the key on stdout',
          ),
        );
      },
    );
  });
}

export async function readSourceKeys(s: MasterKeySource): Promise<MasterKey[]> {
  if (s.from === 'env') {
    if (!s.value) throw usageError(`$${s.name} is empty`, GENERATE_HINT);
    return parseKeys(s.value, `$${s.name}`);
  }
  if (s.from !== 'file' && s.from !== 'command')
    throw usageError(`unknown master key source "${String((s as { from?: unknown }).from)}"`);
  const text = s.from === 'file' ? await readFileSource(s.path) : await runCommand(s.command);
  return parseKeys(text, describeSource(s));
}

/** The keys a proxy holds: the current one first. Re-read from the source on demand (rotation, SIGHUP). */
export class MasterKeyring {
  private keys: MasterKey[];

  constructor(
    readonly source: MasterKeySource | null,
    keys: MasterKey[],
  ) {
    if (keys.length === 0) throw new Error('a keyring needs a key');
    this.keys = keys;
  }

  static async load(source: MasterKeySource): Promise<MasterKeyring> {
    return new MasterKeyring(source, await readSourceKeys(source));
  }

  get current(): MasterKey {
    return this.keys[0]!;
  }

  get(id: string): MasterKey | undefined {
    return this.keys.find((k) => k.id === id);
  }

  ids(): string[] {
    return this.keys.map((k) => k.id);
  }

  /**
   * Read the source again. Keys it no longer lists are kept (still needed to unwrap until a
   * rotation); the source's first key becomes current. Returns whether the current key changed.
   * An environment variable cannot change under a running process, so it never changes here.
   */
  async refresh(): Promise<boolean> {
    if (!this.source || this.source.from === 'env') return false;
    const fresh = await readSourceKeys(this.source);
    const before = this.current.id;
    const kept = this.keys.filter((k) => !fresh.some((f) => f.id === k.id));
    this.keys = [...fresh, ...kept];
    return this.current.id !== before;
  }
}

/**
 * The store holds data keys wrapped by a master key this proxy does not hold: exit 2 when the
 * proxy was given none (an input is missing), exit 3 when it was given another one (our own
 * credential does not open the store).
 */
export function wrongMasterKey(needed: string[], ring: MasterKeyring | null, count: number): TourniquetError {
  const what = `the store's ${count} production key(s) are encrypted under master key ${needed.join(', ')}`;
  const hint =
    'start the proxy with the master key the store was written with (--master-key-file, --master-key-command or TOURNIQUET_MASTER_KEY); during a rotation, list the new key first and the old one after it';
  const data = { needed_master_key_ids: needed };
  if (!ring) return new TourniquetError('usage', `${what}, and this proxy was given no master key`, { hint, data });
  const from = ring.source ? ` (from ${describeSource(ring.source)})` : '';
  return new TourniquetError('auth', `${what}; this proxy holds ${ring.ids().join(', ')}${from}`, { hint, data });
}
