import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import {
  createVendorAdapter,
  type AdapterDeps,
  type KeyCredential,
  type VendorAdapter,
} from '../../src/vendors/index.js';
import { TourniquetError } from '../../src/core/errors.js';

let sb: Sandbox;
beforeAll(async () => {
  // Seed 002's propagation tails, shrunk 10 000×: Twilio's 30 s median becomes 3 ms.
  sb = await startSandbox({ timeScale: 0.0001, tailMode: 'median' });
});
afterAll(async () => sb.stop());

function adapters(): Record<'openai' | 'twilio' | 'resend', { adapter: VendorAdapter; secrets: string[] }> {
  const make = (vendor: string, deps: Omit<AdapterDeps, 'onSecret'>) => {
    const secrets: string[] = [];
    return { adapter: createVendorAdapter(vendor, { ...deps, onSecret: (s) => secrets.push(s) }), secrets };
  };
  return {
    openai: make('openai', {
      config: { baseUrl: sb.urls.openai, projectId: sb.keys.openai.project_id },
      adminKey: sb.keys.openai.admin_key,
    }),
    twilio: make('twilio', {
      config: { baseUrl: sb.urls.twilio, accountSid: sb.keys.twilio.account_sid },
      adminKey: sb.keys.twilio.secret,
    }),
    resend: make('resend', { config: { baseUrl: sb.urls.resend }, adminKey: sb.keys.resend.secret }),
  };
}

async function untilRefused(adapter: VendorAdapter, key: KeyCredential, limitMs = 3000): Promise<number> {
  const start = Date.now();
  for (;;) {
    const p = await adapter.probe(key);
    if (!p.accepted) return Date.now() - start;
    if (Date.now() - start > limitMs)
      throw new Error(`${adapter.vendor} still accepts the deleted key after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(['openai', 'twilio', 'resend'] as const)('%s adapter against the sandbox', (vendor) => {
  it('creates a key that works, deletes it idempotently, and sees the vendor refuse it after its tail', async () => {
    const { adapter, secrets } = adapters()[vendor];
    expect(adapter.capabilities).toEqual({ create: true, delete: true, verify: true });
    const key = await adapter.createKey({ name: 'tourniquet-rotation-test' });
    expect(secrets).toEqual([key.secret]);
    expect(key.hint).not.toContain(key.secret);
    expect(key.hint.endsWith(key.secret.slice(-4))).toBe(true);
    const cred = { id: key.id, secret: key.secret };
    expect(await adapter.probe(cred)).toMatchObject({ accepted: true });
    expect(await adapter.deleteKey(key.id)).toEqual({ status: 'deleted', id: key.id });
    // Deleting twice is not an error: the vendor answers 404 for a deleted key, reported as not-found.
    expect(await adapter.deleteKey(key.id)).toEqual({ status: 'not-found', id: key.id });
    await untilRefused(adapter, cred);
  });

  it('reports a key the vendor does not know (404) as not-found (only the caller knows if it deleted it before)', async () => {
    const { adapter } = adapters()[vendor];
    const unknown =
      vendor === 'twilio'
        ? 'SK0123456789abcdef0123456789abcdef'
        : vendor === 'openai'
          ? 'svc_acct_unknown'
          : '00000000-0000-4000-8000-000000000000';
    expect(await adapter.deleteKey(unknown)).toEqual({ status: 'not-found', id: unknown });
  });

  it('refuses a bogus key (probe) and maps a refused admin key to exit 3', async () => {
    const { adapter } = adapters()[vendor];
    expect(
      (await adapter.probe({ id: 'SK00000000000000000000000000000000', secret: 'bogus_bogus_bogus_bogus' })).accepted,
    ).toBe(false);
    const bad = createVendorAdapter(vendor, {
      config: {
        baseUrl: sb.urls[vendor],
        projectId: sb.keys.openai.project_id,
        accountSid: sb.keys.twilio.account_sid,
      },
      adminKey: 'wrong_admin_key_0000000000',
    });
    const err = await bad.createKey({ name: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(TourniquetError);
    expect(err.exitCode).toBe(3);
  });

  it('plans calls with method and URL, and no secret in them', () => {
    const { adapter } = adapters()[vendor];
    const calls = ['create', 'delete', 'probe'].flatMap((a) => adapter.plan(a as never, 'key_123'));
    for (const c of calls) expect(c.url.startsWith(sb.urls[vendor])).toBe(true);
    const text = JSON.stringify(calls);
    for (const s of [sb.keys.openai.admin_key, sb.keys.twilio.secret, sb.keys.resend.secret])
      expect(text).not.toContain(s);
  });
});

describe('OpenAI project keys', () => {
  it('deletes a project API key (key_…) through deleteKey and deleteProjectKey', async () => {
    const { adapter } = adapters().openai;
    const made = sb.openai.createKey('dashboard key');
    expect(await adapter.deleteProjectKey!(made.id)).toEqual({ status: 'deleted', id: made.id });
    expect(await adapter.deleteKey(made.id)).toEqual({ status: 'not-found', id: made.id });
  });
});

describe('Stripe adapter (guided)', () => {
  const stripe = () => createVendorAdapter('stripe', { config: { baseUrl: sb.urls.stripe } });

  it('has no create or delete API: guidance names the Dashboard path; delete is manual', async () => {
    const a = stripe();
    expect(a.capabilities).toEqual({ create: false, delete: false, verify: true });
    expect(a.guidance().join('\n')).toMatch(/dashboard\.stripe\.com\/apikeys.*\n.*Rotate key/s);
    const err = await a.createKey({ name: 'x' }).catch((e) => e);
    expect(err.exitCode).toBe(2);
    const del = await a.deleteKey('sk_old');
    expect(del.status).toBe('manual');
  });

  it('proves a key works, and proves a dead one dead', async () => {
    const a = stripe();
    expect((await a.probe({ secret: sb.keys.stripe.secret })).accepted).toBe(true);
    expect((await a.probe({ secret: 'sk_live_not_a_real_key_000000' })).accepted).toBe(false);
  });
});

describe('Resend restricted keys', () => {
  it('counts a sending-only key as alive (restricted_api_key), not dead', async () => {
    const { adapter } = adapters().resend;
    const k = sb.resend.createKey('sender', 'sending_access');
    expect(await adapter.probe({ secret: k.secret })).toMatchObject({ accepted: true, status: 401 });
  });
});

describe('probe answers that are not 2xx or 401', () => {
  it('a rate-limited key (429) is alive, not dead; a vendor outage is an error, not "dead"', async () => {
    const { startFakeServer } = await import('../../src/sandbox/agent-platforms/server.js');
    let status = 429;
    const fake = await startFakeServer([
      {
        method: 'GET',
        pattern: /^\/v1\/models$/,
        handle: () => ({ status, json: { error: { message: 'x' } }, headers: { 'retry-after': '0' } }),
      },
    ]);
    try {
      const a = createVendorAdapter('openai', { config: { baseUrl: fake.url } });
      expect(await a.probe({ secret: 'sk-proj-abcdefghijklmnop' })).toMatchObject({ accepted: true, status: 429 });
      status = 500;
      const err = await a.probe({ secret: 'sk-proj-abcdefghijklmnop' }).catch((e) => e);
      expect(err).toBeInstanceOf(TourniquetError);
      expect(err.exitCode).toBe(1);
    } finally {
      await fake.close();
    }
  });
});
