import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, through, type Harness } from './helpers.js';

const charge = (amount: number, customer = 'cus_A') => `amount=${amount}&currency=usd&customer=${customer}`;

describe('refusals: each has its own status and code, is never forwarded, and is audited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  const vendorCalls = () => h.sandbox.stripe.keys.stats().reduce((s, k) => s + k.calls, 0);

  it('unknown key → 401 vault_key_unknown', async () => {
    const before = vendorCalls();
    const r = await through(h.proxy.dataUrl, 'GET', '/v1/customers', 'vk_doesnotexist0000000000000000');
    expect([r.status, r.json.error.code]).toEqual([401, 'vault_key_unknown']);
    expect(vendorCalls()).toBe(before);
  });

  it('no key, or a key in the wrong header → 401 vault_key_missing naming the header', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const none = await through(h.proxy.dataUrl, 'GET', '/v1/customers', null);
    expect([none.status, none.json.error.code]).toEqual([401, 'vault_key_missing']);
    const wrong = await through(h.proxy.dataUrl, 'GET', '/v1/customers', null, undefined, { 'x-api-key': vk.secret });
    expect([wrong.status, wrong.json.error.code]).toEqual([401, 'vault_key_missing']);
    expect(wrong.json.error.message).toContain('x-api-key');
    expect(wrong.text).not.toContain(vk.secret);
  });

  it('revoked → 401 vault_key_revoked on the very next request', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
    const del = await h.admin('DELETE', `/v1/vault-keys/${vk.id}`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: vk.id, status: 'revoked', already_revoked: false });
    const before = vendorCalls();
    const r = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect([r.status, r.json.error.code]).toEqual([401, 'vault_key_revoked']);
    expect(vendorCalls()).toBe(before);
    const again = await h.admin('DELETE', `/v1/vault-keys/${vk.id}`);
    expect(again.body).toMatchObject({ status: 'revoked', already_revoked: true, effective_at: del.body.effective_at });
    const rec = await h.admin('GET', `/v1/vault-keys/${vk.id}`);
    expect(rec.body.status).toBe('revoked'); // kept, not deleted
  });

  it('expired → 401 vault_key_expired', async () => {
    const vk = await h.issue({ vendor: 'stripe', expires_in: 1 });
    await new Promise((r) => setTimeout(r, 1100));
    const r = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect([r.status, r.json.error.code]).toEqual([401, 'vault_key_expired']);
  });

  it('endpoint outside the allow-list → 403 endpoint_not_allowed; wildcards work', async () => {
    const vk = await h.issue({ vendor: 'stripe', allowed_endpoints: ['POST /v1/refunds', 'GET /v1/customers/*'] });
    const c = await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, charge(1000));
    expect([c.status, c.json.error.code]).toEqual([403, 'endpoint_not_allowed']);
    const missing = await through(h.proxy.dataUrl, 'GET', '/v1/customers/cus_nope', vk.secret);
    expect(missing.status).toBe(404); // allowed, forwarded, the vendor's own answer
    const list = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect(list.status).toBe(403);
  });

  it('allowed_endpoints: [] is refused at issue (400 naming the field); a stored [] allows nothing', async () => {
    const empty = await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', allowed_endpoints: [] });
    expect([empty.status, empty.body.error.code, empty.body.error.field]).toEqual([
      400,
      'invalid_request',
      'allowed_endpoints',
    ]);
    // Given a key whose row was stored with [] before issue refused it
    const vk = await h.issue({ vendor: 'stripe', allowed_endpoints: ['GET /v1/customers'] });
    const stored = await h.proxy.service.store.getVaultKey(vk.id);
    h.proxy.service.state.applyVaultKey({ ...stored!, allowed_endpoints: [] });
    // When it calls, Then nothing is allowed (not everything)
    const before = vendorCalls();
    const r = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect([r.status, r.json.error.code]).toEqual([403, 'endpoint_not_allowed']);
    expect(vendorCalls()).toBe(before);
  });

  it('per-call cap: transfers and payouts are capped; an amount that cannot be read is refused, not let through', async () => {
    const vk = await h.issue({ vendor: 'stripe', per_call_amount_cap: 50 });
    const before = vendorCalls();
    const post = (path: string, body: string) => through(h.proxy.dataUrl, 'POST', path, vk.secret, body);
    for (const [path, body] of [
      ['/v1/transfers', 'destination=acct_1&amount=10000000&currency=usd'],
      ['/v1/payouts', 'amount=10000000&currency=usd'],
    ]) {
      const r = await post(path!, body!);
      expect([path, r.status, r.json.error.code]).toEqual([path, 403, 'spend_cap_exceeded']);
      expect(r.json.error.message).toContain('over the per-call cap of $50');
    }
    for (const [path, body] of [
      ['/v1/refunds', 'charge=ch_1&amount=100&amount=10000000&currency=usd'], // which one Stripe takes is not ours to guess
      ['/v1/refunds', 'charge=ch_1&amount=1000&currency=usd&currency=gbp'],
      ['/v1/refunds', 'charge=ch_1&amount=100000000&currency=krw'], // no exchange rate for KRW
      ['/v1/charges', 'currency=usd&source=tok_visa'], // no amount at all
    ]) {
      const r = await post(path!, body!);
      expect([body, r.status, r.json.error.code]).toEqual([body, 403, 'spend_cap_exceeded']);
      expect(r.json.error.message).toContain('amount could not be read');
    }
    expect(vendorCalls()).toBe(before);
    expect((await post('/v1/charges', charge(1000))).status).toBe(200);
  });

  it('a key for another vendor under a /VENDOR/ prefix → 403', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', vk.secret);
    expect([r.status, r.json.error.code]).toEqual([403, 'endpoint_not_allowed']);
  });

  it('per-call amount cap and daily cap → spend_cap_exceeded (403 in the Stripe dialect: 402 would be a card decline)', async () => {
    const vk = await h.issue({ vendor: 'stripe', per_call_amount_cap: 20, daily_usd_cap: 30 });
    const big = await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, charge(2500));
    expect([big.status, big.json.error.code]).toEqual([403, 'spend_cap_exceeded']);
    expect((await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, charge(1500))).status).toBe(200);
    expect((await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, charge(1500))).status).toBe(200);
    const over = await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, charge(100));
    expect([over.status, over.json.error.code]).toEqual([403, 'spend_cap_exceeded']);
  });

  it('calls per minute → 429 rate_limited with Retry-After', async () => {
    const vk = await h.issue({ vendor: 'stripe', calls_per_minute: 3 });
    for (let i = 0; i < 3; i++)
      expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
    const r = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect([r.status, r.json.error.code]).toEqual([429, 'rate_limited']);
    // Truthful: the seconds until the oldest of the three calls leaves the 60 s window.
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('every refusal has an audit row with its verdict and vendor_status 0', async () => {
    const summary = await h.admin('GET', '/v1/audit/summary');
    const v = summary.body.by_verdict;
    for (const code of [
      'vault_key_unknown',
      'vault_key_missing',
      'vault_key_revoked',
      'vault_key_expired',
      'endpoint_not_allowed',
      'spend_cap_exceeded',
      'rate_limited',
    ])
      expect(v[code], code).toBeGreaterThan(0);
    const refused = await h.admin('GET', '/v1/audit?verdict=rate_limited');
    expect(refused.body.data[0].vendor_status).toBe(0);
  });
});

describe('hard revoke, revoke-all, roll, production keys', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sandbox: { streamDelayMs: 40 } });
  });
  afterAll(async () => h.stop());

  it('hard revoke cuts a stream already in flight; soft revoke lets it finish', async () => {
    const hard = await h.issue({ vendor: 'openai' });
    const soft = await h.issue({ vendor: 'openai' });
    const body = JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'a long answer please with many words in it' }],
    });
    const start = (k: string) =>
      fetch(`${h.proxy.dataUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body,
      });
    const [rh, rs] = await Promise.all([start(hard.secret), start(soft.secret)]);
    const readAll = (r: Response) =>
      r.text().then(
        (t) => ({ ok: true, t }),
        (e) => ({ ok: false, t: String(e) }),
      );
    const pending = [readAll(rh), readAll(rs)];
    await new Promise((r) => setTimeout(r, 60));
    const hr = await h.admin('DELETE', `/v1/vault-keys/${hard.id}?hard=true`);
    expect(hr.body.in_flight_aborted).toBe(1);
    await h.admin('DELETE', `/v1/vault-keys/${soft.id}`);
    const [outHard, outSoft] = await Promise.all(pending);
    expect(outHard!.ok && outHard!.t.includes('[DONE]')).toBe(false);
    expect(outSoft!.ok).toBe(true);
    expect(outSoft!.t).toContain('[DONE]');
    const rows = (await h.admin('GET', `/v1/audit?vault_key_id=${hard.id}`)).body.data;
    expect(rows[0].policy_verdict).toBe('aborted_hard_revoke');
  });

  it('revoke-all by vendor and by production key; other vendors untouched', async () => {
    const a = await h.issue({ vendor: 'stripe' });
    const b = await h.issue({ vendor: 'stripe' });
    const o = await h.issue({ vendor: 'openai' });
    const r = await h.admin('POST', '/v1/vault-keys/revoke-all', { vendor: 'stripe' });
    expect(r.status).toBe(200);
    expect(r.body.revoked).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(r.body.revoked).not.toContain(o.id);
    const ups = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
    const byUp = await h.admin('POST', '/v1/vault-keys/revoke-all', { upstream_key_id: ups[0].id });
    expect(byUp.body.revoked).toContain(o.id);
    const bad = await h.admin('POST', '/v1/vault-keys/revoke-all', {});
    expect(bad.status).toBe(400);
  });

  it('revoke-all naming an unknown vendor (a typo, the wrong case) is 400 naming the field, and revokes nothing', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await h.admin('POST', '/v1/vault-keys/revoke-all', { vendor: 'Stripe' });
    expect([r.status, r.body.error.code, r.body.error.field]).toEqual([400, 'invalid_request', 'vendor']);
    expect(r.body.error.message).toContain('unknown vendor "Stripe"');
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  });

  it('roll: a new secret with the same policy; revoke_old stops the old one', async () => {
    const old = await h.issue({
      vendor: 'stripe',
      daily_usd_cap: 50,
      agent_run_id: 'run_roll',
      labels: { agent: 'a1' },
    });
    const rolled = await h.admin('POST', `/v1/vault-keys/${old.id}/roll`, { revoke_old: true });
    expect(rolled.status).toBe(201);
    expect(rolled.body).toMatchObject({
      daily_usd_cap: 50,
      agent_run_id: 'run_roll',
      labels: { agent: 'a1' },
      rolled_from: old.id,
      status: 'active',
    });
    expect(rolled.body.secret).not.toBe(old.secret);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', old.secret)).status).toBe(401);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', rolled.body.secret)).status).toBe(200);
  });

  it('promote a standby production key: the next request uses it, and the audit says which', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const fresh = h.sandbox.stripe.createKey('rotated');
    const added = await h.admin('POST', '/v1/upstream-keys', {
      vendor: 'stripe',
      secret: fresh.secret,
      state: 'standby',
      label: 'next',
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ vendor: 'stripe', state: 'standby' });
    expect(JSON.stringify(added.body)).not.toContain(fresh.secret);
    await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    const p = await h.admin('POST', `/v1/upstream-keys/${added.body.id}/promote`);
    expect(p.body.state).toBe('active');
    await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    const rows = (await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}`)).body.data;
    expect(rows[0].upstream_key_id).not.toBe(added.body.id);
    expect(rows[1].upstream_key_id).toBe(added.body.id);
    expect(h.sandbox.stripe.keys.get(fresh.id)!.calls).toBe(1);
    const list = (await h.admin('GET', '/v1/upstream-keys?vendor=stripe')).body.data;
    expect(list.map((u: any) => u.state).sort()).toEqual(['active', 'standby']);
    const retired = await h.admin(
      'POST',
      `/v1/upstream-keys/${list.find((u: any) => u.state === 'standby').id}/retire`,
    );
    expect(retired.body.state).toBe('retired');
  });
});

describe('hard revoke before the vendor answers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ sandbox: { latencyMs: 300 } });
  });
  afterAll(async () => h.stop());

  it('the waiting call gets 401 vault_key_revoked at once; its row says aborted_hard_revoke', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const pending = through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    await new Promise((r) => setTimeout(r, 50));
    const del = await h.admin('DELETE', `/v1/vault-keys/${vk.id}?hard=true`);
    expect(del.body).toMatchObject({ status: 'revoked', mode: 'hard', in_flight_aborted: 1 });
    const r = await pending;
    expect([r.status, r.json.error.code]).toEqual([401, 'vault_key_revoked']); // cut, not answered by the vendor
    const rows = (await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}`)).body.data;
    expect(rows.map((x: any) => x.policy_verdict)).toEqual(['aborted_hard_revoke']);
  });
});
