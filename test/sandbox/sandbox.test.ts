import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring, VENDOR_TAILS, startSandbox, type Sandbox } from '../../src/sandbox/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sandbox vendors', () => {
  let s: Sandbox;
  beforeAll(async () => {
    // Stripe's median tail of 45 s becomes 180 ms (room for a busy machine inside the tail).
    s = await startSandbox({ timeScale: 0.004, tailMode: 'median' });
  });
  afterAll(async () => s.stop());

  it('Stripe: a deleted key keeps working for the propagation tail, then 401 with a redacted key', async () => {
    const k = s.stripe.createKey('rotating');
    const call = () => fetch(`${s.urls.stripe}/v1/customers`, { headers: { authorization: `Bearer ${k.secret}` } });
    expect((await call()).status).toBe(200);
    const del = s.stripe.deleteKey(k.id)!;
    expect(Date.parse(del.stops_working_at) - Date.parse(del.deleted_at)).toBe(180);
    expect((await call()).status).toBe(200); // still inside the tail
    await sleep(250);
    const after = await call();
    expect(after.status).toBe(401);
    const body = await after.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'api_key_invalid' });
    expect(body.error.message).not.toContain(k.secret);
    expect(s.stripe.keys.stats().find((x) => x.id === k.id)).toMatchObject({
      calls: 2,
      calls_after_delete: 1,
      deleted: true,
    });
  });

  it('Stripe: form bodies, missing params, idempotent replays', async () => {
    const auth = {
      authorization: `Bearer ${s.keys.stripe.secret}`,
      'content-type': 'application/x-www-form-urlencoded',
    };
    const bad = await fetch(`${s.urls.stripe}/v1/charges`, { method: 'POST', headers: auth, body: 'currency=usd' });
    expect((await bad.json()).error).toMatchObject({ code: 'parameter_missing', param: 'amount' });
    const post = () =>
      fetch(`${s.urls.stripe}/v1/charges`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': 'k1' },
        body: 'amount=500&currency=usd',
      }).then((r) => r.json());
    const [a, b] = [await post(), await post()];
    expect(a.id).toBe(b.id);
    expect(a).toMatchObject({ object: 'charge', amount: 500, currency: 'usd', status: 'succeeded' });
  });

  it('OpenAI: admin API creates a service account whose key works, deletes it (with the tail)', async () => {
    const base = `${s.urls.openai}/v1/organization/projects/${s.keys.openai.project_id}/service_accounts`;
    const admin = { authorization: `Bearer ${s.keys.openai.admin_key}`, 'content-type': 'application/json' };
    const created = await (
      await fetch(base, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'agent-7' }) })
    ).json();
    expect(created.api_key.value).toMatch(/^sk-svcacct-/);
    const chat = () =>
      fetch(`${s.urls.openai}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.api_key.value}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
      });
    const ok = await (await chat()).json();
    expect(ok.usage.total_tokens).toBeGreaterThan(0);
    const del = await (await fetch(`${base}/${created.id}`, { method: 'DELETE', headers: admin })).json();
    expect(del).toMatchObject({ deleted: true, id: created.id });
    await sleep(300); // OpenAI's median tail, 60 s, scaled to 240 ms
    expect((await chat()).status).toBe(401);
    const projectKey = await fetch(
      `${s.urls.openai}/v1/organization/projects/${s.keys.openai.project_id}/api_keys/${s.keys.openai.id}`,
      { method: 'DELETE', headers: admin },
    );
    expect((await projectKey.json()).object).toBe('organization.project.api_key.deleted');
    expect(
      (
        await fetch(base, {
          method: 'POST',
          headers: { ...admin, authorization: `Bearer ${s.keys.openai.secret}` },
          body: '{"name":"x"}',
        })
      ).status,
    ).toBe(401);
  });

  it('Twilio: a message with a price; API keys created and deleted under the account', async () => {
    const sid = s.keys.twilio.account_sid;
    const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const key = await (
      await fetch(`${s.urls.twilio}/2010-04-01/Accounts/${sid}/Keys.json`, {
        method: 'POST',
        headers: { ...form, authorization: basic(sid, s.keys.twilio.secret) },
        body: 'FriendlyName=agent',
      })
    ).json();
    expect(key.sid).toMatch(/^SK/);
    const msg = await fetch(`${s.urls.twilio}/2010-04-01/Accounts/${sid}/Messages.json`, {
      method: 'POST',
      headers: { ...form, authorization: basic(key.sid, key.secret) },
      body: 'To=%2B15550100&From=%2B15550199&Body=hi',
    });
    expect(msg.status).toBe(201);
    expect(await msg.json()).toMatchObject({ price: '-0.00790', price_unit: 'USD', status: 'queued' });
    const missing = await (
      await fetch(`${s.urls.twilio}/2010-04-01/Accounts/${sid}/Messages.json`, {
        method: 'POST',
        headers: { ...form, authorization: basic(key.sid, key.secret) },
        body: 'Body=hi',
      })
    ).json();
    expect(missing.code).toBe(21604);
    const del = await fetch(`${s.urls.twilio}/2010-04-01/Accounts/${sid}/Keys/${key.sid}.json`, {
      method: 'DELETE',
      headers: { authorization: basic(sid, s.keys.twilio.secret) },
    });
    expect(del.status).toBe(204);
    await sleep(160);
    expect(
      (
        await fetch(`${s.urls.twilio}/2010-04-01/Accounts/${sid}/Messages.json`, {
          headers: { authorization: basic(key.sid, key.secret) },
        })
      ).status,
    ).toBe(401);
  });

  it('Resend: emails, and api-keys create, list, delete (full access only)', async () => {
    const auth = (k: string) => ({ authorization: `Bearer ${k}`, 'content-type': 'application/json' });
    const created = await (
      await fetch(`${s.urls.resend}/api-keys`, {
        method: 'POST',
        headers: auth(s.keys.resend.secret),
        body: JSON.stringify({ name: 'agent', permission: 'sending_access' }),
      })
    ).json();
    expect(created.token).toMatch(/^re_/);
    const sent = await fetch(`${s.urls.resend}/emails`, {
      method: 'POST',
      headers: auth(created.token),
      body: JSON.stringify({ from: 'a@x.dev', to: 'b@y.dev', subject: 'hi', html: 'x' }),
    });
    expect(sent.status).toBe(200);
    expect((await fetch(`${s.urls.resend}/api-keys`, { headers: auth(created.token) })).status).toBe(401);
    const list = await (await fetch(`${s.urls.resend}/api-keys`, { headers: auth(s.keys.resend.secret) })).json();
    expect(list.data.map((k: { id: string }) => k.id)).toContain(created.id);
    expect(
      (
        await fetch(`${s.urls.resend}/api-keys/${created.id}`, {
          method: 'DELETE',
          headers: auth(s.keys.resend.secret),
        })
      ).status,
    ).toBe(200);
    await sleep(20);
    const invalid = await fetch(`${s.urls.resend}/emails`, {
      method: 'POST',
      headers: auth(created.token),
      body: '{}',
    });
    expect([invalid.status, (await invalid.json()).name]).toEqual([403, 'invalid_api_key']);
  });
});

describe('propagation tails: sampled draws fit seed 002', () => {
  it('Stripe median ≈ 45 s and p95 ≈ 192 s over many draws', () => {
    let seed = 42;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const ring = new Keyring('stripe', VENDOR_TAILS.stripe!, { random });
    const draws = Array.from({ length: 4000 }, () => ring.drawTailMs()).sort((a, b) => a - b);
    expect(draws[2000]! / 1000).toBeGreaterThan(40);
    expect(draws[2000]! / 1000).toBeLessThan(50);
    expect(draws[3800]! / 1000).toBeGreaterThan(170);
    expect(draws[3800]! / 1000).toBeLessThan(215);
  });
});

describe('configurable tails', () => {
  it('a per-vendor tail replaces the measured one', async () => {
    const s = await startSandbox({ tails: { resend: { medianMs: 0, p95Ms: 0 } }, tailMode: 'median' });
    try {
      const k = s.resend.createKey('x');
      s.resend.deleteKey(k.id);
      const r = await fetch(`${s.urls.resend}/emails`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.secret}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.status).toBe(403);
      expect(s.stripe.keys.tail.medianMs).toBe(45_000);
    } finally {
      await s.stop();
    }
  });
});
