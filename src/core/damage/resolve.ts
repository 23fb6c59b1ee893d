import type { Settings } from '../config.js';
import { noProxyUrl } from '../first-run.js';
import type { AuditSource } from './types.js';
import type { HttpClient } from '../http.js';
import { usageError } from '../errors.js';
import { parseSecretRef, readSecret, type SecretRegistry } from '../secrets.js';
import { parseSourceSpec, type SourceSpec } from './spec.js';
import { openAuditSource } from './open.js';
import { parseColumnMap } from './columns.js';

/** What resolving a source needs from the command: no commander, no console. */
export interface ResolveEnv {
  env: Record<string, string | undefined>;
  stdin: NodeJS.ReadableStream;
  secrets: SecretRegistry;
  trace?: (line: string) => void;
}

export interface SourceFlags {
  source?: string;
  inputFormat?: string;
  table?: string;
  columns?: string;
}

/** The admin token: the file named in the profile, else the environment variable it names. */
async function adminToken(settings: Settings, ctx: ResolveEnv): Promise<string> {
  const file = settings.get('admin_token_file');
  const envName = settings.get('admin_token_env') ?? 'TOURNIQUET_ADMIN_TOKEN';
  if (!file && !ctx.env[envName])
    throw usageError(
      'no admin token for the proxy',
      `set admin_token_file in the profile, or TOURNIQUET_ADMIN_TOKEN_FILE / ${envName}`,
    );
  const token = await readSecret(
    file ? parseSecretRef(file) : { from: 'env', name: envName },
    { env: ctx.env, stdin: ctx.stdin },
    'the admin token',
  );
  ctx.secrets.add(token);
  return token;
}

/** The HTTP client is loaded only for a source that needs it: a file source starts without it (undici). */
async function client(baseUrl: string, token: string, name: string, ctx: ResolveEnv): Promise<HttpClient> {
  const { HttpClient } = await import('../http.js');
  return new HttpClient({
    baseUrl,
    name,
    headers: { authorization: `Bearer ${token}` },
    trace: ctx.trace,
    timeouts: { headersMs: 60_000, bodyMs: 120_000, totalMs: 60_000 },
  });
}

/** `proxy` on a profile whose proxy is LiteLLM means its spend logs. */
function litellmProxy(spec: SourceSpec, settings: Settings): SourceSpec {
  const url = settings.get('proxy_url');
  return spec.kind === 'proxy' && settings.get('proxy_kind') === 'litellm' && url ? { kind: 'litellm-api', url } : spec;
}

/** Resolve `--source` (or the profile's audit_source) to a spec; a profile name is followed once. */
async function resolveSpec(
  flags: SourceFlags,
  settings: Settings,
  ctx: ResolveEnv,
): Promise<{ spec: Exclude<SourceSpec, { kind: 'profile' }>; settings: Settings }> {
  const text = flags.source ?? settings.get('audit_source') ?? (settings.get('proxy_url') ? 'proxy' : undefined);
  if (!text)
    throw usageError(
      'no audit source',
      'pass --source (proxy, a postgres:// URL, a path, - for stdin) or set audit_source in the profile',
    );
  const spec = litellmProxy(parseSourceSpec(text, flags.inputFormat), settings);
  if (spec.kind !== 'profile') return { spec, settings };
  const { loadSettings } = await import('../config.js');
  const other = loadSettings(ctx.env, spec.name);
  const inner = other.get('audit_source') ?? (other.get('proxy_url') ? 'proxy' : undefined);
  if (!inner)
    throw usageError(
      `profile ${spec.name} has no audit_source`,
      `tourniquet config set --profile ${spec.name} audit_source URL-OR-PATH`,
    );
  const resolved = litellmProxy(parseSourceSpec(inner, flags.inputFormat), other);
  if (resolved.kind === 'profile')
    throw usageError(
      `profile ${spec.name}'s audit_source names another profile (${resolved.name})`,
      'set it to proxy, a URL or a path',
    );
  return { spec: resolved, settings: other };
}

/** TOURNIQUET_DAMAGE_THREADS: how many threads read a big JSONL/CSV file (1: this one only). */
export function threadsFromEnv(env: Record<string, string | undefined>): number | undefined {
  const text = env.TOURNIQUET_DAMAGE_THREADS;
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw usageError(
      `TOURNIQUET_DAMAGE_THREADS=${text}: not a whole number from 1 to 64`,
      'unset it to let the file size and the cores decide',
    );
  return n;
}

/** `--source` and friends to an open AuditSource. Secrets come from the profile, never argv. */
export async function auditSourceFromFlags(
  flags: SourceFlags,
  settings: Settings,
  ctx: ResolveEnv,
): Promise<AuditSource> {
  const { spec, settings: s } = await resolveSpec(flags, settings, ctx);
  const raw = s.raw('audit_columns');
  const columns = parseColumnMap(
    flags.columns ??
      (typeof raw === 'string' || (raw && typeof raw === 'object')
        ? (raw as string | Record<string, string>)
        : undefined),
  );
  const table =
    flags.table ?? (typeof s.raw('audit_table') === 'string' ? (s.raw('audit_table') as string) : undefined);
  if (spec.kind === 'postgres') ctx.secrets.add(new URL(spec.url).password || undefined);
  return openAuditSource(spec, {
    stdin: ctx.stdin,
    columns,
    table,
    threads: threadsFromEnv(ctx.env),
    trace: ctx.trace,
    proxyClient: async () => {
      const url = s.get('proxy_url');
      if (!url) throw noProxyUrl('--source proxy needs the proxy admin URL');
      return client(url, await adminToken(s, ctx), 'the proxy admin API', ctx);
    },
    litellmClient: async (url) => client(url, await adminToken(s, ctx), 'the LiteLLM proxy', ctx),
  });
}
