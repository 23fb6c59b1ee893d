import { readFile } from 'node:fs/promises';
import { TourniquetError, usageError } from './errors.js';

/**
 * A secret is shown only as a hint: its vendor prefix and last four characters
 * (`sk_live_…a1b2`). Short secrets show nothing of themselves.
 */
export function redactHint(secret: string): string {
  if (secret.length < 12) return '…';
  const prefix =
    /^([a-z]+_(?:(?:live|test|proj|svcacct|admin)[_-])?|sk-(?:proj-|svcacct-|admin-)?|re_|SK|AC)/i.exec(secret)?.[0] ??
    '';
  return `${prefix}…${secret.slice(-4)}`;
}

/**
 * Every secret the process learns is registered here; all output passes through scrub(),
 * so a secret that reaches a message by mistake is printed as its hint, not whole.
 */
export class SecretRegistry {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret && secret.length >= 8) this.secrets.add(secret);
  }

  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join(redactHint(s));
    return out;
  }
}

/** Where a secret comes from: never argv. */
export type SecretSource = { from: 'env'; name: string } | { from: 'file'; path: string } | { from: 'stdin' };

/** Parse `env:NAME`, `file:PATH`, a bare path, or `-` (stdin). */
export function parseSecretRef(ref: string): SecretSource {
  if (ref === '-') return { from: 'stdin' };
  if (ref.startsWith('env:')) return { from: 'env', name: ref.slice(4) };
  if (ref.startsWith('file:')) return { from: 'file', path: ref.slice(5) };
  return { from: 'file', path: ref };
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export interface SecretInputs {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
}

/** Read a secret from its source; trailing newlines (from `echo` or an editor) are dropped. */
export async function readSecret(source: SecretSource, io: SecretInputs, what: string): Promise<string> {
  let value: string | undefined;
  let where: string;
  if (source.from === 'env') {
    where = `environment variable ${source.name}`;
    value = io.env[source.name];
  } else if (source.from === 'file') {
    where = `file ${source.path}`;
    try {
      value = await readFile(source.path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw usageError(
        `cannot read ${what} from ${where}: ${code ?? String(err)}`,
        'check the path and its permissions',
      );
    }
  } else {
    where = 'standard input';
    value = await readAll(io.stdin);
  }
  const trimmed = value?.replace(/[\r\n]+$/, '').trim();
  if (!trimmed) throw usageError(`${what} is empty: nothing in ${where}`);
  return trimmed;
}

/**
 * What keys look like: Stripe (sk_/rk_ live and test), OpenAI and Anthropic (sk-…), our vault
 * keys (vk_ + 40 characters; ids are vk_id_…), Resend (re_), Google (AIza), GitHub (gh?_),
 * Slack (xox?-) and AWS access key ids. Not anchored: a key inside free text counts, as long as
 * it starts a word (so `task-force-…` is not `sk-…`).
 */
const KEY_SHAPES = [
  '(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}',
  'sk-[A-Za-z0-9_-]{10,}',
  'vk_[A-Za-z0-9]{10,}',
  're_[A-Za-z0-9_]{10,}',
  'AIza[0-9A-Za-z_-]{30,}',
  'gh[pousr]_[A-Za-z0-9]{30,}',
  'xox[abpr]-[A-Za-z0-9-]{10,}',
  'AKIA[0-9A-Z]{16}',
];
const KEY_IN_TEXT = new RegExp(`(?<![A-Za-z0-9])(?:${KEY_SHAPES.join('|')})`);
const KEY_AT_START = new RegExp(`^(?:${KEY_SHAPES.join('|')})`);

/** A value that is a key (it starts with one). */
export function looksLikeSecret(value: string): boolean {
  return KEY_AT_START.test(value);
}

/** A password in a URL anywhere in the text: `postgres://user:pw@host`, `https://u:p@proxy`. */
const URL_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i;

/**
 * Free text that carries a secret: a key anywhere in it (a `--reason`, an `--endpoint` pattern,
 * a label) or a password inside a URL. What it found, for the message, or undefined.
 */
export function secretInText(text: string): 'a key' | 'a password in a URL' | undefined {
  if (KEY_IN_TEXT.test(text)) return 'a key';
  if (URL_PASSWORD.test(text)) return 'a password in a URL';
  return undefined;
}

/** The one message for a secret found where only references belong (argv, a config value). */
export function secretOnArgv(): TourniquetError {
  return new TourniquetError(
    'usage',
    'a secret was passed on the command line; tourniquet never takes secrets on argv',
    {
      hint: 'pass it by reference: an environment variable, a --…-file path, - for stdin, or the masked prompt (a database password: PGPASSWORD or ~/.pgpass). Rotate it if the shell history is shared.',
    },
  );
}
