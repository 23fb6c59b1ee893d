import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { usageError } from '../../core/errors.js';
import { SCOPES, type Scope } from './scopes.js';

/**
 * Admin tokens: each named and scoped, kept in a file the proxy reads (never in the database),
 * as SHA-256 hashes, one a line:
 *
 *   # NAME            SCOPE     HASH
 *   grafana           read      sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
 *   oncall            operate   sha256:…
 *   ci-rotation       admin     sha256:…
 *
 * A token is a bearer secret of high entropy (`tourniquet proxy add-token` makes one), so a
 * plain SHA-256 is enough to keep the file from being a list of usable tokens.
 */
export interface AdminToken {
  name: string;
  scope: Scope;
}

interface Entry extends AdminToken {
  hash: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function parseTokenFile(text: string, where: string): Entry[] {
  const entries: Entry[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = `${where}:${i + 1}`;
    const [name, scope, hash, ...extra] = line.split(/\s+/);
    if (extra.length || !name || !scope || !hash) throw usageError(`${at}: expected "NAME SCOPE sha256:HEX"`);
    if (!NAME.test(name))
      throw usageError(`${at}: "${name}" is not a token name (letters, digits, . _ @ -; 64 at most)`);
    if (!(SCOPES as readonly string[]).includes(scope))
      throw usageError(`${at}: scope "${scope}" is not one of ${SCOPES.join(', ')}`);
    const m = /^sha256:([0-9a-f]{64})$/.exec(hash);
    if (!m)
      throw usageError(
        `${at}: the hash must be sha256: and 64 lowercase hex digits`,
        'never put a token itself in this file: tourniquet proxy add-token writes the line',
      );
    if (names.has(name)) throw usageError(`${at}: token name "${name}" appears twice`);
    if (hashes.has(m[1]!)) throw usageError(`${at}: the same token is listed twice`);
    names.add(name);
    hashes.add(m[1]!);
    entries.push({ name, scope: scope as Scope, hash: m[1]! });
  });
  return entries;
}

/** Refused when group or others may read it: the fix is one chmod. */
export async function readTokenFile(path: string): Promise<Entry[]> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    throw usageError(
      `cannot read the admin token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (mode & 0o077)
    throw usageError(
      `the admin token file ${path} is readable by group or others (mode ${(mode & 0o777).toString(8)})`,
      `chmod 600 ${path}`,
    );
  return parseTokenFile(await readFile(path, 'utf8'), path);
}

export type ReloadOutcome = { ok: true; tokens: number } | { ok: false; error: string };

/** The tokens an admin listener accepts: from the token file, plus a single legacy token if given. */
export class AdminTokens {
  private byHash = new Map<string, AdminToken>();

  private constructor(
    private readonly file: string | null,
    private readonly fixed: Entry[],
    entries: Entry[],
  ) {
    this.install(entries);
  }

  /** `single`: one unnamed full-power token (`--admin-token-file`), named `admin`. */
  static async load(opts: { file?: string | null; single?: string | null }): Promise<AdminTokens> {
    const fixed: Entry[] = opts.single ? [{ name: 'admin', scope: 'admin', hash: hashToken(opts.single) }] : [];
    const fromFile = opts.file ? await readTokenFile(opts.file) : [];
    if (!fixed.length && !fromFile.length)
      throw usageError('no admin token', 'pass --admin-tokens FILE (named, scoped tokens) or --admin-token-file FILE');
    return new AdminTokens(opts.file ?? null, fixed, fromFile);
  }

  private install(entries: Entry[]): void {
    const next = new Map<string, AdminToken>();
    for (const e of [...this.fixed, ...entries]) {
      if (next.has(e.hash))
        throw usageError(`token "${e.name}" is listed twice (the token file and --admin-token-file)`);
      next.set(e.hash, { name: e.name, scope: e.scope });
    }
    this.byHash = next;
  }

  /** Who this bearer token is, or null. The lookup is by SHA-256, so no comparison touches the token itself. */
  authenticate(presented: string): AdminToken | null {
    return this.byHash.get(hashToken(presented)) ?? null;
  }

  get size(): number {
    return this.byHash.size;
  }

  /** SIGHUP: read the file again; a bad file keeps the tokens already loaded (nobody is locked out, nothing is opened). */
  async reload(): Promise<ReloadOutcome> {
    if (!this.file) return { ok: true, tokens: this.size };
    try {
      this.install(await readTokenFile(this.file));
      return { ok: true, tokens: this.size };
    } catch (err) {
      const hint = (err as { hint?: string }).hint;
      return { ok: false, error: `${(err as Error).message}${hint ? ` (fix: ${hint})` : ''}` };
    }
  }
}

/**
 * Add a named token to a token file (created 0600 if absent): returns the new token, shown once.
 * The file keeps only its hash. The proxy picks it up on SIGHUP.
 */
export async function addToken(file: string, name: string, scope: string): Promise<{ token: string; line: string }> {
  const { randomBytes } = await import('node:crypto');
  const { appendFile, writeFile } = await import('node:fs/promises');
  if (!NAME.test(name)) throw usageError(`"${name}" is not a token name (letters, digits, . _ @ -; 64 at most)`);
  if (!(SCOPES as readonly string[]).includes(scope)) throw usageError(`--scope must be one of ${SCOPES.join(', ')}`);
  const exists = await stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw usageError(`cannot read the admin token file ${file}: ${err.code ?? err.message}`);
    },
  );
  const existing = exists ? await readTokenFile(file) : [];
  if (!exists)
    await writeFile(
      file,
      '# NAME SCOPE HASH (tourniquet admin tokens; the proxy reads this at start and on SIGHUP)\n',
      { mode: 0o600, flag: 'wx' },
    );
  if (existing.some((e) => e.name === name))
    throw usageError(`a token named "${name}" is already in ${file}`, 'pick another name, or delete its line first');
  const token = `tqa_${randomBytes(30).toString('base64url')}`;
  const line = `${name} ${scope} sha256:${hashToken(token)}`;
  await appendFile(file, line + '\n');
  return { token, line };
}
