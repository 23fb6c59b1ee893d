import { readFile } from 'node:fs/promises';
import { usageError } from './errors.js';

/**
 * A secret is shown only as a hint: its vendor prefix and last four characters
 * (`sk_live_…a1b2`). Short secrets show nothing of themselves.
 */
export function redactHint(secret: string): string {
  if (secret.length < 12) return '…';
  const prefix = /^([a-z]+_(?:(?:live|test|proj|svcacct|admin)[_-])?|sk-(?:proj-|svcacct-|admin-)?|re_|SK|AC)/i.exec(secret)?.[0] ?? '';
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
export type SecretSource =
  | { from: 'env'; name: string }
  | { from: 'file'; path: string }
  | { from: 'stdin' };

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
      throw usageError(`cannot read ${what} from ${where}: ${code ?? String(err)}`, 'check the path and its permissions');
    }
  } else {
    where = 'standard input';
    value = await readAll(io.stdin);
  }
  const trimmed = value?.replace(/[\r\n]+$/, '').trim();
  if (!trimmed) throw usageError(`${what} is empty: nothing in ${where}`);
  return trimmed;
}

/** Look for a secret-looking value on argv, so we can refuse it before anything else happens. */
export function looksLikeSecret(value: string): boolean {
  return /^((sk|rk)_(live|test)_[A-Za-z0-9]{8,}|sk-[A-Za-z0-9_-]{10,}|vk_[A-Za-z0-9]{10,}|re_[A-Za-z0-9_]{10,})/.test(value);
}
