import { HttpClient } from '../../core/http.js';
import { TourniquetError, usageError } from '../../core/errors.js';
import { fieldOf, isRecord } from '../../core/json.js';
import type { Introspection, OAuthServerConfig, RevokeOutcome, TokenTypeHint } from './types.js';

/**
 * An OAuth client for the two calls that stop a token: RFC 7009 revoke and RFC 7662 introspect,
 * authenticating with client_secret_basic (RFC 6749 §2.3.1: id and secret form-encoded, then Basic).
 */
export class OAuthClient {
  private endpoints?: { revocation?: string; introspection?: string };

  constructor(private readonly cfg: OAuthServerConfig) {}

  private basic(): string {
    const enc = (s: string) => new URLSearchParams({ v: s }).toString().slice(2); // application/x-www-form-urlencoded
    return `Basic ${Buffer.from(`${enc(this.cfg.clientId)}:${enc(this.cfg.clientSecret)}`).toString('base64')}`;
  }

  /** The HTTP client joins paths onto a base with a trailing slash, so give it the origin and the path apart. */
  private client(url: string): HttpClient {
    return new HttpClient({
      baseUrl: new URL(url).origin,
      name: 'the authorization server',
      headers: { authorization: this.basic() },
      trace: this.cfg.trace,
      timeouts: this.cfg.timeouts,
    });
  }

  /** RFC 8414 metadata, then OpenID discovery; explicit endpoints win. */
  async resolveEndpoints(): Promise<{ revocation?: string; introspection?: string }> {
    if (this.endpoints) return this.endpoints;
    let revocation = this.cfg.revocationEndpoint;
    let introspection = this.cfg.introspectionEndpoint;
    if ((!revocation || !introspection) && this.cfg.issuer) {
      const meta = await discover(this.cfg);
      revocation ??= meta.revocation_endpoint;
      introspection ??= meta.introspection_endpoint;
    }
    this.endpoints = { revocation, introspection };
    return this.endpoints;
  }

  async introspect(token: string, hint?: TokenTypeHint): Promise<Introspection> {
    const { introspection } = await this.resolveEndpoints();
    if (!introspection)
      throw usageError(
        'no introspection endpoint',
        'pass --introspection-endpoint URL or an --issuer whose metadata lists one',
      );
    const res = await this.client(introspection).request<Introspection>({
      method: 'POST',
      path: pathOf(introspection),
      form: { token, token_type_hint: hint },
      expect: (b) => (typeof fieldOf(b, 'active') === 'boolean' ? undefined : 'no boolean "active" (RFC 7662 §2.2)'),
    });
    return res.body;
  }

  /** Revoke, then verify through introspection. The POST is safe to retry: revoking twice is a no-op (RFC 7009 §2.2). */
  async revoke(token: string, hint?: TokenTypeHint): Promise<RevokeOutcome> {
    const { revocation, introspection } = await this.resolveEndpoints();
    if (!revocation)
      throw usageError(
        'no revocation endpoint',
        'pass --revocation-endpoint URL or an --issuer whose metadata lists one',
      );
    const res = await this.client(revocation).request({
      method: 'POST',
      path: pathOf(revocation),
      form: { token, token_type_hint: hint },
      idempotencyKey: 'rfc7009-revoke-is-idempotent',
      accept: [400],
    });
    if (res.status === 400) {
      const error = fieldOf(res.body, 'error');
      const description = fieldOf(res.body, 'error_description');
      const err = typeof error === 'string' ? error : 'invalid_request';
      throw new TourniquetError(
        'step-failed',
        `the authorization server refused the revocation (${err})${typeof description === 'string' && description ? `: ${description}` : ''}`,
        {
          hint:
            err === 'unsupported_token_type'
              ? 'this server cannot revoke that kind of token; try --token-type-hint, or deactivate the client'
              : undefined,
        },
      );
    }
    if (!introspection)
      return {
        status: 'revoked',
        endpoint: revocation,
        verified: false,
        unverified_reason: 'no introspection endpoint to verify with',
      };
    const after = await this.introspect(token, hint);
    return {
      status: 'revoked',
      endpoint: revocation,
      verified: after.active === false,
      introspection: { active: after.active },
    };
  }

  plan(action: 'revoke' | 'introspect'): { method: string; url: string; what: string }[] {
    const e = {
      revocation: this.cfg.revocationEndpoint ?? '{revocation_endpoint from the issuer metadata}',
      introspection: this.cfg.introspectionEndpoint ?? '{introspection_endpoint from the issuer metadata}',
    };
    const calls = [];
    if (!this.cfg.revocationEndpoint || !this.cfg.introspectionEndpoint)
      if (this.cfg.issuer)
        calls.push({ method: 'GET', url: metadataUrls(this.cfg.issuer)[0]!, what: 'discover the endpoints' });
    if (action === 'revoke')
      calls.push({ method: 'POST', url: e.revocation, what: 'RFC 7009 revoke (client_secret_basic)' });
    calls.push({
      method: 'POST',
      url: e.introspection,
      what: action === 'revoke' ? 'verify: RFC 7662 introspection answers active:false' : 'RFC 7662 introspection',
    });
    return calls;
  }
}

function metadataUrls(issuer: string): string[] {
  const u = new URL(issuer);
  const path = u.pathname.replace(/\/$/, '');
  return [
    `${u.origin}/.well-known/oauth-authorization-server${path}`,
    `${u.origin}${path}/.well-known/openid-configuration`,
  ];
}

async function discover(
  cfg: OAuthServerConfig,
): Promise<{ revocation_endpoint?: string; introspection_endpoint?: string }> {
  for (const url of metadataUrls(cfg.issuer!)) {
    const http = new HttpClient({
      baseUrl: new URL(url).origin,
      name: 'the authorization server metadata',
      trace: cfg.trace,
      timeouts: cfg.timeouts,
    });
    const res = await http.request({ method: 'GET', path: pathOf(url), accept: [404] });
    if (res.status !== 404 && isRecord(res.body))
      return {
        revocation_endpoint: endpointIn(res.body.revocation_endpoint),
        introspection_endpoint: endpointIn(res.body.introspection_endpoint),
      };
  }
  throw usageError(
    `no authorization server metadata at ${cfg.issuer}`,
    'pass --revocation-endpoint and --introspection-endpoint instead',
  );
}

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

/** A metadata endpoint is a URL string (RFC 8414 §2); anything else is no endpoint. */
const endpointIn = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
