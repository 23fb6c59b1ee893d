/** RFC 7009 revocation and RFC 7662 introspection, as values. */
export interface OAuthServerConfig {
  /** The issuer; endpoints are discovered from its metadata when not given. */
  issuer?: string;
  revocationEndpoint?: string;
  introspectionEndpoint?: string;
  clientId: string;
  /** Already read from its reference. */
  clientSecret: string;
  trace?: (line: string) => void;
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
}

export type TokenTypeHint = 'access_token' | 'refresh_token';

/** What RFC 7662 answers; only `active` is required. We never echo the token itself. */
export interface Introspection {
  active: boolean;
  client_id?: string;
  scope?: string;
  sub?: string;
  token_type?: string;
  exp?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

export interface RevokeOutcome {
  /** RFC 7009 answers 200 for a token it revoked and for one it did not know: both are "revoked". */
  status: 'revoked';
  endpoint: string;
  /** Verified: introspection now answers active:false. */
  verified: boolean;
  introspection?: { active: boolean };
  /** Why verification could not run, when it could not. */
  unverified_reason?: string;
}
