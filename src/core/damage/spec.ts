import { openSync, readSync, closeSync, statSync } from 'node:fs';
import { usageError } from '../errors.js';

export type FileFormat = 'jsonl' | 'csv' | 'sqlite' | 'litellm';
export const FILE_FORMATS: readonly FileFormat[] = ['jsonl', 'csv', 'sqlite', 'litellm'];

/** Where the audit rows are, as `--source` names it. */
export type SourceSpec =
  | { kind: 'proxy' }
  | { kind: 'postgres'; url: string }
  | { kind: 'litellm-api'; url: string }
  | { kind: 'file'; format: FileFormat; path: string }
  | { kind: 'profile'; name: string };

// `.json` is left to the content: a JSON array is a LiteLLM export, one object per line is JSONL.
const EXT: Record<string, FileFormat> = {
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  log: 'jsonl',
  csv: 'csv',
  db: 'sqlite',
  sqlite: 'sqlite',
  sqlite3: 'sqlite',
};

/** The first bytes decide when the extension does not: SQLite's magic, JSON, or CSV. A pipe is not read ahead: JSONL. */
function sniff(path: string, regular: boolean): FileFormat {
  if (!regular) return 'jsonl';
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    const head = buf.subarray(0, n).toString('latin1');
    if (head.startsWith('SQLite format 3')) return 'sqlite';
    const first = head.trimStart()[0];
    if (first === '[') return 'litellm';
    return first === '{' ? 'jsonl' : 'csv';
  } finally {
    closeSync(fd);
  }
}

/** A filesystem call on an audit path; its failure (a loop of links, no permission) is a usage error naming the path. */
function fsCheck<T>(path: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw usageError(
      `cannot read audit source ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'check the path and its permissions',
    );
  }
}

/**
 * `--source`: `proxy`, a `postgres://` URL, `litellm+https://…` (a LiteLLM proxy's spend logs),
 * `sqlite:PATH` / `csv:PATH` / `jsonl:PATH` / `litellm:PATH`, a path (`-` is stdin), or a profile name.
 */
export function parseSourceSpec(text: string, format?: string): SourceSpec {
  if (format !== undefined && !(FILE_FORMATS as readonly string[]).includes(format))
    throw usageError(`--input-format ${format}: unknown`, `use one of ${FILE_FORMATS.join(', ')}`);
  if (text === 'proxy') return { kind: 'proxy' };
  if (/^postgres(ql)?:\/\//.test(text)) return { kind: 'postgres', url: text };
  if (/^litellm\+https?:\/\//.test(text)) return { kind: 'litellm-api', url: text.slice('litellm+'.length) };
  const prefixed = /^(jsonl|csv|sqlite|litellm):(.+)$/.exec(text);
  if (prefixed) return { kind: 'file', format: prefixed[1] as FileFormat, path: prefixed[2]! };
  if (text === '-') return { kind: 'file', format: (format as FileFormat) ?? 'jsonl', path: '-' };
  const ext = /\.([a-z0-9]+)$/i.exec(text)?.[1]?.toLowerCase();
  const st = fsCheck(text, () => statSync(text, { throwIfNoEntry: false }));
  if (st?.isDirectory()) throw usageError(`audit source ${text} is a directory`, 'name the audit file in it');
  if (st)
    return {
      kind: 'file',
      format: (format as FileFormat) ?? (ext && EXT[ext]) ?? fsCheck(text, () => sniff(text, st.isFile())),
      path: text,
    };
  if (text.includes('/') || (ext && EXT[ext]))
    throw usageError(
      `audit file ${text} does not exist`,
      'check the path, or name a profile, a postgres:// URL, or proxy',
    );
  return { kind: 'profile', name: text };
}
