import { usageError } from '../../core/errors.js';
import { parseSecretRef, readSecret, type SecretInputs } from '../../core/secrets.js';
import type { RawSettings } from '../../vendors/index.js';
import type { AgentPlatformId } from './types.js';

export * from './types.js';
export { AgentAccountsPlatform } from './accounts.js';
export { AgentsApiPlatform } from './agents-api.js';

/** Per platform: the profile table name, its environment variables, and the default admin-key reference. */
const PLATFORM_SETTINGS: Record<
  AgentPlatformId,
  { table: string; urlEnv: string; keyRefEnv: string; defaultKeyRef: string; name: string }
> = {
  accounts: {
    table: 'accounts',
    urlEnv: 'TOURNIQUET_AGENT_ACCOUNTS_URL',
    keyRefEnv: 'TOURNIQUET_AGENT_ACCOUNTS_KEY_REF',
    defaultKeyRef: 'env:TOURNIQUET_AGENT_ACCOUNTS_KEY',
    name: 'agent accounts API',
  },
  'agents-api': {
    table: 'agents_api',
    urlEnv: 'TOURNIQUET_AGENTS_API_URL',
    keyRefEnv: 'TOURNIQUET_AGENTS_API_KEY_REF',
    defaultKeyRef: 'env:TOURNIQUET_AGENTS_API_KEY',
    name: 'Agents API',
  },
};

export interface PlatformRefs {
  baseUrl: string;
  /** A reference (env:NAME, file:PATH, -), never the key. */
  adminKeyRef: string;
}

function fromProfile(settings: RawSettings | undefined, table: string, key: string): string | undefined {
  const nested = (settings?.raw('agents') as Record<string, Record<string, unknown>> | undefined)?.[table]?.[key];
  const flat = settings?.raw(`agents.${table}.${key}`);
  const v = nested ?? flat;
  return typeof v === 'string' && v ? v : undefined;
}

/** Flags win over TOURNIQUET_* variables, which win over the profile's agents.<platform>.* settings. */
export function platformRefs(
  platform: AgentPlatformId,
  flags: { baseUrl?: string; adminKey?: string },
  settings: RawSettings | undefined,
  env: Record<string, string | undefined>,
): PlatformRefs {
  const s = PLATFORM_SETTINGS[platform];
  const baseUrl = flags.baseUrl ?? env[s.urlEnv] ?? fromProfile(settings, s.table, 'base_url');
  if (!baseUrl)
    throw usageError(
      `the ${s.name} URL is not set`,
      `pass --base-url URL, set ${s.urlEnv}, or tourniquet config set agents.${s.table}.base_url URL`,
    );
  try {
    new URL(baseUrl);
  } catch {
    throw usageError(`"${baseUrl}" is not a URL`, 'e.g. --base-url https://api.example.com/v1');
  }
  const adminKeyRef =
    flags.adminKey ?? env[s.keyRefEnv] ?? fromProfile(settings, s.table, 'admin_key') ?? s.defaultKeyRef;
  return { baseUrl, adminKeyRef };
}

export async function readPlatformKey(platform: AgentPlatformId, ref: string, io: SecretInputs): Promise<string> {
  return readSecret(parseSecretRef(ref), io, `the ${PLATFORM_SETTINGS[platform].name} admin key (${ref})`);
}
