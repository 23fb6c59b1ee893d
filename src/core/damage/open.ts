import type { AuditSource } from './types.js';
import type { SourceSpec } from './spec.js';
import type { HttpClient } from '../http.js';
import { DEFAULT_TABLE, checkIdent, type ColumnMap } from './columns.js';
import { fileOpener, textInput } from './sources/lines.js';
import { JsonlSource } from './sources/jsonl.js';
import { CsvSource } from './sources/csv.js';
import { SqliteSource } from './sources/sqlite.js';
import { PostgresSource } from './sources/postgres.js';
import { ProxySource } from './sources/proxy.js';
import { LiteLlmApiSource, LiteLlmFileSource } from './sources/litellm.js';

export interface SourceDeps {
  stdin: NodeJS.ReadableStream;
  columns: ColumnMap;
  table?: string;
  /** The proxy admin API client, built by the command from the profile (token included). */
  proxyClient?: () => Promise<HttpClient>;
  /** A client for a LiteLLM proxy at this URL (master key included). */
  litellmClient?: (url: string) => Promise<HttpClient>;
  /** Threads to read a big JSONL or CSV file on (default: by its size and the cores). */
  threads?: number;
  /** --debug lines. */
  trace?: (line: string) => void;
}

/** One factory: a resolved --source to the AuditSource that reads it. */
export async function openAuditSource(
  spec: Exclude<SourceSpec, { kind: 'profile' }>,
  deps: SourceDeps,
): Promise<AuditSource> {
  const table = checkIdent(deps.table ?? DEFAULT_TABLE, 'table');
  switch (spec.kind) {
    case 'proxy':
      return new ProxySource(await deps.proxyClient!());
    case 'litellm-api':
      return new LiteLlmApiSource(await deps.litellmClient!(spec.url));
    case 'postgres':
      return new PostgresSource(spec.url, table, deps.columns);
    case 'file': {
      const label = spec.path === '-' ? `${spec.format}:stdin` : `${spec.format}:${spec.path}`;
      if (spec.format === 'sqlite') return new SqliteSource(spec.path, table, deps.columns);
      if (spec.format === 'litellm') return new LiteLlmFileSource(label, await fileOpener(spec.path, deps.stdin));
      const input = await textInput(spec.path, deps.stdin, label);
      const opts = { threads: deps.threads, trace: deps.trace };
      return spec.format === 'csv'
        ? new CsvSource(input, deps.columns, opts)
        : new JsonlSource(input, deps.columns, opts);
    }
  }
}
