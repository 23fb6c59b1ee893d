import { missingInput, usageError } from '../../core/errors.js';
import type { RawSettings } from '../../vendors/index.js';

/**
 * Where the authorization server and our client are. Flags win over TOURNIQUET_OAUTH_* variables,
 * which win over the profile's oauth.* settings (nested table or flat keys). The client secret is
 * a reference (env:NAME, file:PATH), never the secret.
 */
export interface OAuthRefs {
  issuer?: string;
  revocationEndpoint?: string;
  introspectionEndpoint?: string;
  clientId: string;
  secretRef: string;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function profileValue(settings: RawSettings | undefined, key: string): string | undefined {
  const nested = (settings?.raw('oauth') as Record<string, unknown> | undefined)?.[key];
  return str(nested) ?? str(settings?.raw(`oauth.${key}`));
}

export function oauthRefs(
  opts: Record<string, unknown>,
  settings: RawSettings | undefined,
  env: Record<string, string | undefined>,
  fallbackIssuer?: string,
): OAuthRefs {
  const issuer = str(opts.issuer) ?? env.TOURNIQUET_OAUTH_ISSUER ?? profileValue(settings, 'issuer') ?? fallbackIssuer;
  const revocationEndpoint = str(opts.revocationEndpoint) ?? profileValue(settings, 'revocation_endpoint');
  const introspectionEndpoint = str(opts.introspectionEndpoint) ?? profileValue(settings, 'introspection_endpoint');
  const clientId = str(opts.clientId) ?? env.TOURNIQUET_OAUTH_CLIENT_ID ?? profileValue(settings, 'client_id');
  const secretRef =
    str(opts.clientSecret) ?? profileValue(settings, 'client_secret') ?? 'env:TOURNIQUET_OAUTH_CLIENT_SECRET';
  if (!issuer && !revocationEndpoint && !introspectionEndpoint)
    throw missingInput('--issuer', 'the authorization server');
  if (!clientId) throw missingInput('--client-id', 'our OAuth client id (TOURNIQUET_OAUTH_CLIENT_ID)');
  for (const [flag, url] of [
    ['--issuer', issuer],
    ['--revocation-endpoint', revocationEndpoint],
    ['--introspection-endpoint', introspectionEndpoint],
  ] as const)
    if (url && !URL.canParse(url)) throw usageError(`${flag} "${url}" is not a URL`);
  return { issuer, revocationEndpoint, introspectionEndpoint, clientId, secretRef };
}
