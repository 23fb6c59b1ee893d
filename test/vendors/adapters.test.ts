import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createVendorAdapter, type VendorAdapter } from '../../src/vendors/index.js';
import { twilioAccountsBase } from '../../src/vendors/twilio/adapter.js';
import { runInProcess } from '../helpers/cli.js';
import { startHarness, type Harness } from '../proxy/helpers.js';
import { cliEnv } from '../actions/cli-env.js';

/** The adapters against fakes that behave as the vendors' documents say (the mismatches of issue 12). */
describe('key-management adapters, as the vendors document them', () => {
  let sb: Sandbox;
  let trace: string[];
  const twilio = (extra: Record<string, string> = {}): VendorAdapter =>
    createVendorAdapter('twilio', {
      config: {
        baseUrl: sb.urls.twilio,
        accountSid: sb.keys.twilio.account_sid,
        accountsBaseUrl: sb.twilio.accountsUrl,
        ...extra,
      },
      adminKey: sb.twilio.authToken,
      trace: (l) => trace.push(l),
    });
  beforeAll(async () => {
    sb = await startSandbox({ timeScale: 0.0001, tailMode: 'median' });
  });
  afterAll(async () => sb.stop());

  it('Twilio: only SK… sids are deleted through the Keys API; "auth_token" never becomes a DELETE', async () => {
    trace = [];
    const err = (await twilio()
      .deleteKey('auth_token')
      .catch((e: unknown) => e)) as { exitCode: number; message: string };
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('not a Twilio API key sid');
    expect(trace.filter((l) => l.startsWith('→ DELETE'))).toEqual([]);
  });

  it('Twilio: a probe with a non-SK id authenticates as the account (Account SID as the Basic user)', async () => {
    expect((await twilio().probe({ id: 'auth_token', secret: sb.twilio.authToken })).accepted).toBe(true);
  });

  it('Twilio: AuthTokens live on accounts.twilio.com, whatever the API base URL says', () => {
    // Nothing may call a real vendor: the adapter's answer to "where", not a request.
    expect(twilioAccountsBase({ baseUrl: sb.urls.twilio })).toBe('https://accounts.twilio.com');
    expect(twilioAccountsBase({ baseUrl: sb.urls.twilio, accountsBaseUrl: sb.twilio.accountsUrl })).toBe(
      sb.twilio.accountsUrl,
    );
  });

  it('Twilio: the sandbox rotates auth tokens like the real Accounts API (secondary, promote, old one dies)', async () => {
    const before = sb.twilio.authToken;
    const a = twilio();
    const secondary = await a.authToken!.createSecondary();
    expect(await a.probe({ secret: secondary.secret })).toMatchObject({ accepted: true });
    await a.authToken!.promote();
    expect(sb.twilio.authToken).toBe(secondary.secret);
    const fresh = createVendorAdapter('twilio', {
      config: {
        baseUrl: sb.urls.twilio,
        accountSid: sb.keys.twilio.account_sid,
        accountsBaseUrl: sb.twilio.accountsUrl,
      },
      adminKey: secondary.secret,
    });
    expect(await fresh.authToken!.deleteSecondary()).toEqual({ status: 'not-found', id: 'secondary' });
    for (let i = 0; i < 200 && (await fresh.probe({ secret: before })).accepted; i++)
      await new Promise((r) => setTimeout(r, 5));
    expect((await fresh.probe({ secret: before })).accepted).toBe(false);
  });

  it('OpenAI: a key that belongs to a service account is deleted with its account (the API refuses to delete it alone)', async () => {
    const a = createVendorAdapter('openai', {
      config: { baseUrl: sb.urls.openai, projectId: sb.keys.openai.project_id },
      adminKey: sb.keys.openai.admin_key,
    });
    const made = await a.createKey({ name: 'tourniquet-test-sa' });
    const keyId = made.meta!.api_key_id!;
    expect(await a.deleteKey(keyId)).toEqual({ status: 'deleted', id: keyId });
    expect((await a.listKeys!('tourniquet-test-sa')).length).toBe(0);
    expect(await a.deleteKey(keyId)).toEqual({ status: 'not-found', id: keyId });
  });

  it('listKeys finds every key of a name across pages (OpenAI, Twilio, Resend)', async () => {
    const openai = createVendorAdapter('openai', {
      config: { baseUrl: sb.urls.openai, projectId: sb.keys.openai.project_id },
      adminKey: sb.keys.openai.admin_key,
    });
    const resend = createVendorAdapter('resend', {
      config: { baseUrl: sb.urls.resend },
      adminKey: sb.keys.resend.secret,
    });
    for (const a of [openai, twilio(), resend]) {
      const made = [];
      for (let i = 0; i < 3; i++) made.push((await a.createKey({ name: `tourniquet-paging-${a.vendor}` })).id);
      for (let i = 0; i < 120; i++) sb[a.vendor as 'openai' | 'twilio' | 'resend'].createKey(`other-${i}`);
      const found = await a.listKeys!(`tourniquet-paging-${a.vendor}`);
      expect(found.map((k) => k.id).sort(), a.vendor).toEqual(made.sort());
    }
  });
});

describe('rotate twilio after rotate twilio --auth-token', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it('labels the standby as an auth token, and the next API-key rotation refuses (exit 2) instead of deleting "auth_token"', async () => {
    const env = cliEnv(h, {
      TOURNIQUET_TWILIO_BASE_URL: h.sandbox.urls.twilio,
      TOURNIQUET_TWILIO_ACCOUNTS_BASE_URL: h.sandbox.twilio.accountsUrl,
      TOURNIQUET_TWILIO_ACCOUNT_SID: h.sandbox.keys.twilio.account_sid,
      TOURNIQUET_TWILIO_ADMIN_KEY: 'env:TWILIO_AUTH',
      TWILIO_AUTH: h.sandbox.twilio.authToken,
    });
    const first = await runInProcess(
      ['rotate', 'twilio', '--auth-token', '--yes', '--json', '--tail-timeout', '5', '--tail-interval', '20'],
      { env },
    );
    expect(first.code, first.stderr).toBe(0);
    const active = (await h.admin('GET', '/v1/upstream-keys?vendor=twilio')).body.data.find(
      (k: any) => k.state === 'active',
    );
    expect(active.label).toBe('tourniquet:auth-token');
    const second = await runInProcess(['rotate', 'twilio', '--yes', '--json'], {
      env: { ...env, TWILIO_AUTH: h.sandbox.twilio.authToken },
    });
    // Refused as bad usage (exit 2) before anything changed, saying what to run instead.
    expect(second.code, second.stderr).toBe(2);
    expect(second.stderr).toContain("is the account's auth token");
    expect(second.stderr).toContain('tourniquet rotate twilio --auth-token');
    expect(
      (await h.admin('GET', '/v1/upstream-keys?vendor=twilio')).body.data.filter((k: any) => k.state !== 'retired'),
    ).toHaveLength(1);
  });
});
