import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { AgentAccountsPlatform } from '../../src/adapters/agents/accounts.js';
import { AgentsApiPlatform } from '../../src/adapters/agents/agents-api.js';
import { startAccountsFake, type AccountsFake } from '../../src/sandbox/agent-platforms/accounts.js';
import { startAgentsApiFake, type AgentsApiFake } from '../../src/sandbox/agent-platforms/agents-api.js';
import { jwkThumbprint, validatePublicJwk } from '../../src/core/jwk.js';
import { TourniquetError } from '../../src/core/errors.js';

const ADMIN = 'sk_live_admin_0123456789abcdef';

describe('agent accounts platform (seed 000)', () => {
  let fake: AccountsFake;
  let platform: AgentAccountsPlatform;
  beforeEach(async () => {
    fake = await startAccountsFake({ adminKey: ADMIN });
    platform = new AgentAccountsPlatform({ baseUrl: fake.baseUrl, adminKey: ADMIN });
  });
  afterEach(async () => {
    expect(fake.unexpected).toEqual([]);
    await fake.close();
  });

  it('disables an agent: its next call is refused with 402, and a second disable is already-disabled', async () => {
    const a = fake.addAgent('research-agent');
    const first = await platform.setStatus(a.id, 'disabled');
    expect(first).toMatchObject({ status: 'disabled', previous: 'active', verified: true, observed: 'disabled' });
    const call = await fetch(`${fake.baseUrl}/calls`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.api_key}` },
    });
    expect(call.status).toBe(402);
    expect(await platform.setStatus(a.id, 'disabled')).toMatchObject({ status: 'already-disabled', verified: true });
  });

  it('archives, deletes idempotently, and reports not-found as exit 4', async () => {
    const a = fake.addAgent('retired');
    expect(await platform.setStatus(a.id, 'archived')).toMatchObject({ status: 'archived', verified: true });
    expect(await platform.delete(a.id)).toEqual({ status: 'deleted', agent_id: a.id, verified: true });
    expect(await platform.delete(a.id)).toEqual({ status: 'already-deleted', agent_id: a.id, verified: true });
    const err = await platform.setStatus(a.id, 'disabled').catch((e) => e);
    expect(err).toBeInstanceOf(TourniquetError);
    expect(err.exitCode).toBe(4);
  });

  it('rides out a flaky gateway (HTML 502) on the PATCH by retrying it', async () => {
    const a = fake.addAgent('loop');
    fake.flaky.method = 'PATCH';
    fake.flaky.count = 2;
    expect(await platform.setStatus(a.id, 'disabled')).toMatchObject({ status: 'disabled', verified: true });
    expect(fake.requests.filter((r) => r.method === 'PATCH')).toHaveLength(3);
  });

  it('a gateway that stays down is exit 1 with a clear message, not a JSON parse error', async () => {
    const a = fake.addAgent('loop');
    fake.flaky.count = 10;
    const err = await platform.setStatus(a.id, 'disabled').catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/HTML page instead of JSON/);
    fake.flaky.count = 0;
  });

  it('reports verified:false when the platform says 200 but nothing changed', async () => {
    const a = fake.addAgent('stubborn');
    fake.ignorePatches = true;
    expect(await platform.setStatus(a.id, 'disabled')).toMatchObject({
      status: 'disabled',
      verified: false,
      observed: 'active',
    });
  });

  it('creates a replacement with a budget, the key only as a hint outside `secret`', async () => {
    const seen: string[] = [];
    const p = new AgentAccountsPlatform({ baseUrl: fake.baseUrl, adminKey: ADMIN, onSecret: (s) => seen.push(s) });
    const made = await p.create('research-agent-v2', 10);
    expect(made).toMatchObject({ status: 'created', name: 'research-agent-v2', budget: 10, verified: true });
    expect(made.key_hint).toMatch(/^ak_live_…[0-9a-f]{4}$/);
    expect(seen).toContain(made.secret);
    expect(fake.agents.get(made.agent_id)?.budget).toBe(10);
    const created = fake.requests.find((r) => r.method === 'POST');
    expect(created?.headers['idempotency-key']).toBeTruthy();
  });

  it('maps a refused admin key to exit 3', async () => {
    const p = new AgentAccountsPlatform({ baseUrl: fake.baseUrl, adminKey: 'sk_live_wrong_000000000000' });
    const err = await p.get('agt_x').catch((e) => e);
    expect(err.exitCode).toBe(3);
  });
});

describe('Agents API (seed 003)', () => {
  let fake: AgentsApiFake;
  let platform: AgentsApiPlatform;
  beforeEach(async () => {
    fake = await startAgentsApiFake({ adminKey: ADMIN });
    platform = new AgentsApiPlatform({ baseUrl: fake.url, adminKey: ADMIN });
  });
  afterEach(async () => {
    expect(fake.unexpected).toEqual([]);
    await fake.close();
  });

  async function token(a: { client_id: string; client_secret: string }) {
    const res = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${a.client_id}:${a.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('deactivates: every token revoked, verified by re-read, idempotent', async () => {
    const a = fake.addAgent('billing-bot');
    await token(a);
    await token(a);
    expect(await platform.deactivate(a.id)).toEqual({
      status: 'deactivated',
      agent_id: a.id,
      verified: true,
      observed_active: false,
    });
    expect(fake.tokens.every((t) => !t.active)).toBe(true);
    expect(fake.audit.map((e) => e.type)).toContain('agent.deactivated_with_revocation');
    expect(await platform.deactivate(a.id)).toMatchObject({ status: 'already-deactivated', verified: true });
  });

  it('rotates the DPoP key: thumbprint checked, tokens bound to the old key revoked', async () => {
    const oldJwk = validatePublicJwk(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    );
    const a = fake.addAgent('dpop-agent', jwkThumbprint(oldJwk));
    await token(a);
    const jwk = validatePublicJwk(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }));
    const r = await platform.rotateDpopKey(a.id, jwk, 'key on a lost laptop');
    expect(r).toMatchObject({
      status: 'rotated',
      old_jkt: jwkThumbprint(oldJwk),
      new_jkt: jwkThumbprint(jwk),
      verified: true,
      revoked_token_count: 1,
    });
    expect(r.audit_event_id).toMatch(/^evt_/);
  });

  it('flags a server thumbprint that does not match ours', async () => {
    const a = fake.addAgent('dpop-agent');
    fake.faults.wrongJkt = true;
    const jwk = validatePublicJwk(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    );
    expect((await platform.rotateDpopKey(a.id, jwk)).verified).toBe(false);
  });

  it("maps 404 to exit 4 and the server's invalid_jwk to exit 2", async () => {
    const jwk = validatePublicJwk(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    );
    expect((await platform.rotateDpopKey('agent_nope', jwk).catch((e) => e)).exitCode).toBe(4);
    const a = fake.addAgent('x');
    const bogus = { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA' } as never; // bypasses local validation on purpose
    const err = await platform.rotateDpopKey(a.id, bogus).catch((e) => e);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/invalid_jwk/);
  });
});

describe('listing follows the pagination', () => {
  it('walks cursor pages (seed 000) and numbered pages (seed 003)', async () => {
    const acc = await startAccountsFake({ adminKey: ADMIN });
    const api = await startAgentsApiFake({ adminKey: ADMIN });
    try {
      for (let i = 0; i < 230; i++) acc.addAgent(`a${i}`);
      for (let i = 0; i < 205; i++) api.addAgent(`o${i}`);
      const a = await new AgentAccountsPlatform({ baseUrl: acc.baseUrl, adminKey: ADMIN }).list();
      const o = await new AgentsApiPlatform({ baseUrl: api.url, adminKey: ADMIN }).list();
      expect(new Set(a.map((x) => x.id)).size).toBe(230);
      expect(new Set(o.map((x) => x.id)).size).toBe(205);
      expect(acc.requests.filter((r) => r.path.startsWith('/v1/agents?'))).toHaveLength(3);
      expect(api.requests.filter((r) => r.path.startsWith('/api/v1/agents?'))).toHaveLength(3);
      expect(acc.unexpected.concat(api.unexpected)).toEqual([]);
    } finally {
      await acc.close();
      await api.close();
    }
  });
});
