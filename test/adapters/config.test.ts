import { describe, expect, it } from 'vitest';
import { readAdminKey, vendorConfig } from '../../src/vendors/index.js';
import { platformRefs } from '../../src/adapters/agents/index.js';
import { Readable } from 'node:stream';

const settings = (values: Record<string, unknown>) => ({ raw: (k: string) => values[k] });

describe('vendor settings', () => {
  it('reads the nested vendors table and flat vendors.<id>.<key> entries; environment wins', () => {
    const s = settings({
      vendors: { twilio: { account_sid: 'AC_profile', base_url: 'https://staging.example' } },
      'vendors.twilio.admin_key': 'env:TW_TOKEN',
    });
    expect(vendorConfig('twilio', s, {})).toEqual({
      accountSid: 'AC_profile',
      baseUrl: 'https://staging.example',
      adminKeyRef: 'env:TW_TOKEN',
    });
    expect(vendorConfig('twilio', s, { TOURNIQUET_TWILIO_BASE_URL: 'http://127.0.0.1:9' }).baseUrl).toBe(
      'http://127.0.0.1:9',
    );
    expect(vendorConfig('openai', undefined, { TOURNIQUET_OPENAI_PROJECT_ID: 'proj_1' })).toEqual({
      projectId: 'proj_1',
    });
  });

  it('reads the admin key through its reference, never from the settings themselves', async () => {
    const io = { env: { TW_TOKEN: 'tok_0123456789abcdef\n' }, stdin: Readable.from([]) };
    expect(await readAdminKey('twilio', { adminKeyRef: 'env:TW_TOKEN' }, io)).toBe('tok_0123456789abcdef');
    expect(await readAdminKey('twilio', {}, io)).toBeUndefined();
    expect((await readAdminKey('twilio', { adminKeyRef: 'env:MISSING' }, io).catch((e) => e)).exitCode).toBe(2);
  });

  it('an unknown vendor is exit 2 naming the known ones', async () => {
    const { createVendorAdapter } = await import('../../src/vendors/index.js');
    const err = (() => {
      try {
        createVendorAdapter('paypal', { config: {} });
      } catch (e) {
        return e as { exitCode: number; hint: string };
      }
    })();
    expect(err?.exitCode).toBe(2);
    expect(err?.hint).toContain('stripe, anthropic, gemini, openai, twilio, resend');
  });
});

describe('agent platform settings', () => {
  it('flag > environment > profile, with a default admin-key reference', () => {
    const s = settings({
      agents: { accounts: { base_url: 'https://profile.example/v1', admin_key: 'file:/run/secrets/atxp' } },
    });
    expect(platformRefs('accounts', {}, s, {})).toEqual({
      baseUrl: 'https://profile.example/v1',
      adminKeyRef: 'file:/run/secrets/atxp',
    });
    expect(platformRefs('accounts', {}, s, { TOURNIQUET_AGENT_ACCOUNTS_URL: 'https://env.example/v1' }).baseUrl).toBe(
      'https://env.example/v1',
    );
    expect(
      platformRefs('accounts', { baseUrl: 'https://flag.example/v1' }, s, {
        TOURNIQUET_AGENT_ACCOUNTS_URL: 'https://env.example/v1',
      }).baseUrl,
    ).toBe('https://flag.example/v1');
    expect(
      platformRefs('agents-api', {}, settings({ 'agents.agents_api.base_url': 'https://auth.example' }), {}),
    ).toEqual({ baseUrl: 'https://auth.example', adminKeyRef: 'env:TOURNIQUET_AGENTS_API_KEY' });
  });

  it('no URL, or a URL that is not one, is exit 2 with the way to set it', () => {
    const missing = (() => {
      try {
        platformRefs('accounts', {}, undefined, {});
      } catch (e) {
        return e as { exitCode: number; hint: string };
      }
    })();
    expect(missing?.exitCode).toBe(2);
    expect(missing?.hint).toContain('TOURNIQUET_AGENT_ACCOUNTS_URL');
    expect(() => platformRefs('accounts', { baseUrl: 'not a url' }, undefined, {})).toThrow(/not a URL/);
  });
});
