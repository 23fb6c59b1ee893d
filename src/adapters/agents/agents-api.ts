import { HttpClient } from '../../core/http.js';
import { TourniquetError, usageError } from '../../core/errors.js';
import { jwkThumbprint, type PublicJwk } from '../../core/jwk.js';
import { agentNotFound } from './accounts.js';
import { fieldOf, scalarText as textOf } from '../../core/json.js';
import type { AgentPlatformConfig, DeactivateOutcome, DpopRotation, OAuthAgent, PlannedCall } from './types.js';

/**
 * The Agents API of seed 003 (Bearer admin key). PATCH /api/v1/agents/{id} {active:false}
 * blocks new tokens and revokes every token issued to the agent's client_id.
 * POST /api/v1/agents/{id}/rotate-dpop-key {new_public_jwk, reason} records the new cnf.jkt and
 * revokes the tokens bound to the old key; it answers old_jkt, new_jkt, revoked_token_count, audit_event_id.
 */
export class AgentsApiPlatform {
  private readonly http: HttpClient;

  constructor(private readonly cfg: AgentPlatformConfig) {
    cfg.onSecret?.(cfg.adminKey);
    this.http = new HttpClient({
      baseUrl: cfg.baseUrl,
      name: 'the Agents API',
      headers: { authorization: `Bearer ${cfg.adminKey}` },
      trace: cfg.trace,
      timeouts: cfg.timeouts,
    });
  }

  private path(id: string, suffix = ''): string {
    return `/api/v1/agents/${encodeURIComponent(id)}${suffix}`;
  }

  async get(id: string): Promise<OAuthAgent | undefined> {
    const res = await this.http.request<OAuthAgent>({
      method: 'GET',
      path: this.path(id),
      accept: [404],
      expect: (b) =>
        typeof fieldOf(b, 'active') === 'boolean' || fieldOf(b, 'error') ? undefined : 'no boolean "active"',
    });
    return res.status === 404 ? undefined : res.body;
  }

  /** Every agent, page by page (`page`, `per_page`) until `total` is reached. */
  async list(maxPages = 50): Promise<OAuthAgent[]> {
    const all: OAuthAgent[] = [];
    for (let page = 1; page <= maxPages; page++) {
      const res = await this.http.request<{ data: OAuthAgent[]; total?: number }>({
        method: 'GET',
        path: '/api/v1/agents',
        query: { page, per_page: 100 },
        expect: (b) => (Array.isArray(fieldOf(b, 'data')) ? undefined : 'no "data" list'),
      });
      all.push(...res.body.data);
      if (res.body.data.length === 0 || all.length >= (res.body.total ?? all.length)) break;
    }
    return all;
  }

  /** active=false: no new tokens, every existing token revoked. Verified by re-reading the agent. */
  async deactivate(id: string): Promise<DeactivateOutcome> {
    const before = await this.get(id);
    if (!before) throw agentNotFound(id, this.cfg.baseUrl);
    // active=false is idempotent, so a 502/503 may be retried (the key enables that).
    if (before.active)
      await this.http.request({ method: 'PATCH', path: this.path(id), json: { active: false }, idempotencyKey: true });
    const after = await this.get(id);
    const observed_active = after?.active ?? false;
    const verified = after !== undefined && after.active === false;
    return { status: before.active ? 'deactivated' : 'already-deactivated', agent_id: id, verified, observed_active };
  }

  /** The JWK must already be validated (validatePublicJwk); we check the server's new_jkt against our own thumbprint. */
  async rotateDpopKey(id: string, jwk: PublicJwk, reason?: string): Promise<DpopRotation> {
    const expected_jkt = jwkThumbprint(jwk);
    const res = await this.http.request<{
      old_jkt?: string;
      new_jkt: string;
      revoked_token_count?: number;
      audit_event_id?: string;
    }>({
      method: 'POST',
      path: this.path(id, '/rotate-dpop-key'),
      json: { new_public_jwk: jwk, ...(reason ? { reason } : {}) },
      accept: [400],
      expect: (b) => (typeof fieldOf(b, 'new_jkt') === 'string' || fieldOf(b, 'error') ? undefined : 'no new_jkt'),
    });
    if (res.status === 400) throw rejected(res.body);
    const b = res.body;
    return {
      status: 'rotated',
      agent_id: id,
      old_jkt: b.old_jkt ?? '',
      new_jkt: b.new_jkt,
      expected_jkt,
      verified: b.new_jkt === expected_jkt,
      revoked_token_count: Number(b.revoked_token_count ?? 0),
      audit_event_id: String(b.audit_event_id ?? ''),
    };
  }

  plan(action: 'deactivate' | 'rotate-dpop-key', id = '{agent_id}'): PlannedCall[] {
    const read = { method: 'GET', url: this.http.url(this.path(id)), what: 'read the agent' };
    if (action === 'rotate-dpop-key')
      return [
        {
          method: 'POST',
          url: this.http.url(this.path(id, '/rotate-dpop-key')),
          what: 'rotate the DPoP key (revokes tokens bound to the old key); check new_jkt against our RFC 7638 thumbprint',
        },
      ];
    return [
      read,
      { method: 'PATCH', url: this.http.url(this.path(id)), what: 'set active=false (revokes all its tokens)' },
      { ...read, what: 'verify: active is false' },
    ];
  }
}

/** 400 invalid_jwk / invalid_request: the input was wrong, so exit 2 with the server's words. */
function rejected(body: unknown): TourniquetError {
  const error = fieldOf(body, 'error');
  const code = typeof error === 'string' ? error : (textOf(fieldOf(error, 'code')) ?? 'invalid_request');
  const detail =
    textOf(fieldOf(body, 'error_description')) ??
    textOf(fieldOf(body, 'message')) ??
    textOf(fieldOf(error, 'message')) ??
    '';
  if (code === 'invalid_jwk')
    return usageError(
      `the Agents API rejected the JWK (invalid_jwk)${detail ? `: ${detail}` : ''}`,
      'check the key is a public EC P-256, RSA or OKP JWK',
    );
  return usageError(`the Agents API rejected the request (${code})${detail ? `: ${detail}` : ''}`);
}
