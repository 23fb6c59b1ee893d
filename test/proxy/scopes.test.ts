import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ADMIN_TOKEN, adminCall, startHarness, type Harness } from './helpers.js';
import { addToken } from '../../src/proxy/admin/tokens.js';
import { ROUTE_SCOPES, type Scope } from '../../src/proxy/admin/scopes.js';
import { adminRoutes } from '../../src/proxy/admin/index.js';
import { securityRoutes } from '../../src/proxy/admin/security-routes.js';

interface Fresh {
  vk: string;
  up: string;
}

/** One concrete call per admin route; `fresh` gives each call its own vault key and standby production key. */
/** `need`: the smallest scope allowed, written out here (not read from the table under test). */
const CALLS: Record<string, { need: Scope; path: (f: Fresh) => string; body?: (f: Fresh) => unknown }> = {
  'GET /v1/health': { need: 'read', path: () => '/v1/health' },
  'GET /v1/instances': { need: 'read', path: () => '/v1/instances' },
  'GET /v1/vault-keys': { need: 'read', path: () => '/v1/vault-keys' },
  'GET /v1/vault-keys/{id}': { need: 'read', path: (f) => `/v1/vault-keys/${f.vk}` },
  'GET /v1/vault-keys/{id}/verdict': { need: 'read', path: (f) => `/v1/vault-keys/${f.vk}/verdict` },
  'GET /v1/audit': { need: 'read', path: () => '/v1/audit' },
  'GET /v1/audit/summary': { need: 'read', path: () => '/v1/audit/summary' },
  'GET /v1/rates': { need: 'read', path: () => '/v1/rates' },
  'GET /v1/admin-audit': { need: 'read', path: () => '/v1/admin-audit' },
  'GET /metrics': { need: 'read', path: () => '/metrics' },
  'DELETE /v1/vault-keys/{id}': { need: 'operate', path: (f) => `/v1/vault-keys/${f.vk}` },
  'POST /v1/vault-keys/revoke-all': {
    need: 'operate',
    path: () => '/v1/vault-keys/revoke-all',
    body: (f) => ({ upstream_key_id: f.up }),
  },
  'POST /v1/vault-keys/{id}/roll': { need: 'operate', path: (f) => `/v1/vault-keys/${f.vk}/roll`, body: () => ({}) },
  'POST /v1/vault-keys': { need: 'admin', path: () => '/v1/vault-keys', body: () => ({ vendor: 'stripe' }) },
  'GET /v1/upstream-keys': { need: 'read', path: () => '/v1/upstream-keys' },
  'POST /v1/upstream-keys': {
    need: 'admin',
    path: () => '/v1/upstream-keys',
    body: () => ({
      vendor: 'resend',
      secret: `re_scope_test_${Math.random().toString(36).slice(2)}`,
      state: 'standby',
    }),
  },
  'POST /v1/upstream-keys/{id}/promote': {
    need: 'admin',
    path: (f) => `/v1/upstream-keys/${f.up}/promote`,
    body: () => ({}),
  },
  'POST /v1/upstream-keys/{id}/retire': {
    need: 'admin',
    path: (f) => `/v1/upstream-keys/${f.up}/retire`,
    body: () => ({}),
  },
  'GET /v1/master-key': { need: 'admin', path: () => '/v1/master-key' },
  'POST /v1/master-key/rotate': { need: 'admin', path: () => '/v1/master-key/rotate', body: () => ({}) },
};

const call = async (h: Harness, method: string, path: string, body: unknown, token: string) => {
  const res = await fetch(h.proxy.adminUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
};

describe('scoped admin tokens', () => {
  let h: Harness;
  const tokens: Record<Scope, string> = { read: '', operate: '', admin: '' };
  const names: Record<Scope, string> = { read: 'grafana', operate: 'oncall-alice', admin: 'ci-rotation' };

  beforeAll(async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'tq-tokens-')), 'admin-tokens');
    for (const scope of ['read', 'operate', 'admin'] as Scope[])
      tokens[scope] = (await addToken(file, names[scope], scope)).token;
    h = await startHarness({ proxy: { adminTokens: file } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const fresh = async (): Promise<Fresh> => {
    const vk = (await h.issue({ vendor: 'stripe' })).id;
    const up = (
      await adminCall(h.proxy.adminUrl, 'POST', '/v1/upstream-keys', {
        vendor: 'stripe',
        secret: `sk_test_scope_${Math.random().toString(36).slice(2)}`,
        state: 'standby',
      })
    ).body.id;
    return { vk, up };
  };

  it('the scope table names exactly the routes the admin API has', () => {
    const routes = adminRoutes(
      {} as never,
      {} as never,
      { instanceId: 'x' } as never,
      securityRoutes({} as never, null, {} as never),
    );
    const served = routes.map((r) => `${r.method} ${r.path}`).sort();
    expect(ROUTE_SCOPES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(served);
    expect(Object.keys(CALLS).sort()).toEqual(served);
  });

  it('every route, with every scope: allowed when the scope covers it, else 403 naming the scope needed', async () => {
    const wrong: string[] = [];
    const order: Scope[] = ['read', 'operate', 'admin'];
    for (const [route, c] of Object.entries(CALLS)) {
      const [method] = route.split(' ') as [string];
      for (const scope of order) {
        const f = await fresh();
        const res = await call(h, method, c.path(f), c.body?.(f), tokens[scope]);
        const ok = order.indexOf(scope) >= order.indexOf(c.need);
        const got =
          res.status === 403
            ? `403 ${res.body.error.code} ${res.body.error.required_scope}`
            : res.status < 400
              ? 'allowed'
              : `${res.status} ${JSON.stringify(res.body)}`;
        const want = ok ? 'allowed' : `403 insufficient_scope ${c.need}`;
        if (got !== want) wrong.push(`${route} as ${scope}: ${got}, expected ${want}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a refused call changes nothing: the key stays active after a read token tries to revoke it', async () => {
    const f = await fresh();
    const res = await call(h, 'DELETE', `/v1/vault-keys/${f.vk}`, undefined, tokens.read);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('operate');
    expect((await h.admin('GET', `/v1/vault-keys/${f.vk}`)).body.status).toBe('active');
  });

  it('every change is in the admin audit: which token, what, when, from where; refusals too; answers name the token', async () => {
    const before = new Date().toISOString();
    const f = await fresh();
    const refused = await call(h, 'DELETE', `/v1/vault-keys/${f.vk}?hard=true`, undefined, tokens.read);
    const done = await call(h, 'DELETE', `/v1/vault-keys/${f.vk}?hard=true`, undefined, tokens.operate);
    expect([refused.status, done.status, done.body.by]).toEqual([403, 200, 'oncall-alice']);
    const issued = await call(h, 'POST', '/v1/vault-keys', { vendor: 'openai', daily_usd_cap: 5 }, tokens.admin);
    expect(issued.body.by).toBe('ci-rotation');

    const rows = (await call(h, 'GET', `/v1/admin-audit?target=${f.vk}`, undefined, tokens.read)).body.data;
    expect(rows.map((r: any) => [r.token_name, r.scope, r.action, r.outcome, r.status])).toEqual([
      ['admin', 'admin', 'vault_key.issue', 'done', 201],
      ['grafana', 'read', 'vault_key.revoke', 'refused', 403],
      ['oncall-alice', 'operate', 'vault_key.revoke', 'done', 200],
    ]);
    const revoke = rows[2];
    expect(revoke).toMatchObject({
      method: 'DELETE',
      path: `/v1/vault-keys/${f.vk}`,
      targets: [f.vk],
      remote_addr: '127.0.0.1',
      instance_id: h.proxy.instanceId,
    });
    expect(revoke.detail).toMatchObject({ mode: 'hard', hard: true, already_revoked: false });
    expect(revoke.at >= before && revoke.at <= new Date().toISOString()).toBe(true);
    const issueRow = (await call(h, 'GET', `/v1/admin-audit?target=${issued.body.id}`, undefined, tokens.read)).body
      .data[0];
    expect(issueRow).toMatchObject({
      token_name: 'ci-rotation',
      action: 'vault_key.issue',
      detail: { vendor: 'openai', daily_usd_cap: 5 },
    });
    // no secret ever reaches the admin audit
    const all = JSON.stringify((await call(h, 'GET', '/v1/admin-audit?limit=1000', undefined, tokens.read)).body);
    expect(all).not.toContain(issued.body.secret);
    for (const t of [...Object.values(tokens), ADMIN_TOKEN]) expect(all).not.toContain(t);
    expect(all).not.toMatch(/sk_test_scope_|re_scope_test_/);
  });

  it('no token, a wrong token, a vault key: 401 (not 403), and nothing is audited for them', async () => {
    const f = await fresh();
    const vk = await h.issue({ vendor: 'stripe' });
    for (const t of ['', 'not-a-token-0123456789', vk.secret])
      expect((await call(h, 'DELETE', `/v1/vault-keys/${f.vk}`, undefined, t)).status).toBe(401);
    const rows = (await call(h, 'GET', `/v1/admin-audit?target=${f.vk}`, undefined, tokens.read)).body.data;
    expect(rows.map((r: any) => r.action)).toEqual(['vault_key.issue']);
  });
});
