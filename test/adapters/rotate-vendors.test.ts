import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startHarness, type Harness } from '../proxy/helpers.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { createVendorAdapter } from '../../src/vendors/index.js';

/**
 * The vendor adapters under `tourniquet rotate` (the step engine is the other half of issue 5):
 * Resend and Twilio API keys through the real proxy and the sandbox vendors.
 */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h.stop());

describe('rotate with the Resend adapter', () => {
  it('creates the new key at Resend, verifies it, deletes the old one, and watches it die', async () => {
    const oldKey = join(h.dir, 'resend-old');
    writeFileSync(oldKey, h.sandbox.keys.resend.secret);
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_RESEND_BASE_URL: h.sandbox.urls.resend,
      TOURNIQUET_RESEND_ADMIN_KEY: 'env:RESEND_ADMIN',
      RESEND_ADMIN: h.sandbox.keys.resend.secret,
    });
    const r = await runInProcess(
      [
        'rotate',
        'resend',
        '--yes',
        '--json',
        '--old-key-id',
        h.sandbox.keys.resend.id,
        '--old-key-file',
        oldKey,
        '--tail-timeout',
        '10',
        '--tail-interval',
        '20',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verified: true, status: 'done' });
    expect(r.stdout + r.stderr).not.toContain(h.sandbox.keys.resend.secret);
    const probe = createVendorAdapter('resend', { config: { baseUrl: h.sandbox.urls.resend } });
    expect((await probe.probe({ secret: h.sandbox.keys.resend.secret })).accepted).toBe(false);
  });
});

describe('rotate with the Twilio adapter (API keys)', () => {
  it('replaces a Twilio API key with a new one, deleting the old key by its SID', async () => {
    const tw = createVendorAdapter('twilio', {
      config: { baseUrl: h.sandbox.urls.twilio, accountSid: h.sandbox.keys.twilio.account_sid },
      adminKey: h.sandbox.keys.twilio.secret,
    });
    // Given the proxy serves Twilio with an API key (not the auth token)
    const old = await tw.createKey({ name: 'current production key' });
    const added = await h.admin('POST', '/v1/upstream-keys', {
      vendor: 'twilio',
      secret: old.secret,
      account_sid: old.id,
      state: 'active',
      label: 'api-key',
    });
    expect(added.status, JSON.stringify(added.body)).toBeLessThan(300);
    const oldFile = join(h.dir, 'twilio-old');
    writeFileSync(oldFile, old.secret);
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_TWILIO_BASE_URL: h.sandbox.urls.twilio,
      TOURNIQUET_TWILIO_ACCOUNT_SID: h.sandbox.keys.twilio.account_sid,
      TOURNIQUET_TWILIO_ADMIN_KEY: 'env:TWILIO_AUTH_TOKEN',
      TWILIO_AUTH_TOKEN: h.sandbox.keys.twilio.secret,
    });
    const r = await runInProcess(
      [
        'rotate',
        'twilio',
        '--yes',
        '--json',
        '--old-key-id',
        old.id,
        '--old-key-file',
        oldFile,
        '--tail-timeout',
        '10',
        '--tail-interval',
        '20',
      ],
      { env },
    );
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true });
    expect((await tw.probe({ id: old.id, secret: old.secret })).accepted).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(old.secret);
    expect(r.stdout + r.stderr).not.toContain(h.sandbox.keys.twilio.secret);
  });
});
