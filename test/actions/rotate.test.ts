import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startHarness, through, type Harness } from '../proxy/helpers.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { probeLoop } from './probe-loop.js';
import { cliEnv, openaiEnv } from './cli-env.js';

describe('tourniquet rotate openai through the real proxy and the sandbox vendor', () => {
  let h: Harness;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    h = await startHarness();
    const oldKey = join(h.dir, 'old-key.txt');
    writeFileSync(oldKey, h.sandbox.keys.openai.secret);
    env = cliEnv(h, {
      ...openaiEnv(h),
      OLD_KEY_FILE: oldKey,
    });
  });
  afterAll(async () => h.stop());

  it('rotates with zero failed calls in a probe loop, and the vendor ends up refusing the old key', async () => {
    // Given an agent calling OpenAI through the proxy in a tight loop
    const vk = await h.issue({ vendor: 'openai' });
    const loop = probeLoop(h.proxy.dataUrl, '/openai/v1/models', vk.secret);
    // When the production key is rotated
    const r = await runInProcess(
      [
        'rotate',
        'openai',
        '--yes',
        '--json',
        '--old-key-id',
        h.sandbox.keys.openai.id,
        '--old-key-file',
        env.OLD_KEY_FILE!,
        '--tail-timeout',
        '10',
        '--tail-interval',
        '20',
      ],
      { env },
    );
    const stats = await loop.stop();
    // Then every step is verified, the loop never failed, and the old key is dead at the vendor
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ verified: true, status: 'done' });
    expect(out.steps.map((s: any) => s.state)).toEqual([
      'done',
      'done',
      'done',
      'done',
      'done',
      'done',
      'already-done',
      'done',
      'done',
    ]);
    expect(out.tail_seconds).toBeGreaterThanOrEqual(0);
    // The old key, asked at the vendor itself (not through the proxy): deleted there, and refused
    const old = await fetch(`${h.sandbox.urls.openai}/v1/models`, {
      headers: { authorization: `Bearer ${h.sandbox.keys.openai.secret}` },
    });
    expect(old.status).toBe(401);
    expect(h.sandbox.openai.keys.stats().find((k) => k.id === h.sandbox.keys.openai.id)).toMatchObject({
      deleted: true,
    });
    expect(stats.calls).toBeGreaterThan(5); // the agent kept calling throughout
    expect(stats.failures, JSON.stringify([...stats.statuses])).toBe(0);
    const keys = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
    expect(keys.find((k: any) => k.id === out.new_upstream_key_id).state).toBe('active');
    expect(keys.find((k: any) => k.id === out.old_upstream_key_id).state).toBe('retired');
    const after = new Date().toISOString();
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', vk.secret)).status).toBe(200);
    let audit: any[] = [];
    for (let i = 0; i < 40 && !audit.length; i++) {
      if (i) await new Promise((r) => setTimeout(r, 50)); // audit rows land in batches
      audit = (await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}&from=${after}`)).body.data;
    }
    expect(audit.map((a: any) => a.upstream_key_id)).toEqual([out.new_upstream_key_id]);
    // No secret in the output or the journal
    expect(r.stdout + r.stderr).not.toContain(h.sandbox.keys.openai.secret);
    const t = await runInProcess(['timeline', out.incident_id, '--json'], { env });
    expect(t.stdout).not.toContain(h.sandbox.keys.openai.secret);
    expect(t.stdout).not.toContain(h.sandbox.keys.openai.admin_key);
  });

  it('--dry-run lists the calls and changes nothing', async () => {
    const before = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
    const r = await runInProcess(['rotate', 'openai', '--dry-run'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('/v1/upstream-keys');
    expect((await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data).toEqual(before);
  });

  it('without a terminal, rotation needs --yes (typing the vendor name is the interactive form)', async () => {
    const r = await runInProcess(['rotate', 'openai'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
  });
});

describe('tourniquet rotate stripe: guided (no API to create keys)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it('takes the new key from --new-key-file, proves it before changing anything, and guides the deletion', async () => {
    const fresh = h.sandbox.stripe.createKey('rotated in the dashboard');
    const file = join(h.dir, 'new-stripe-key.txt');
    writeFileSync(file, fresh.secret + '\n');
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_STRIPE_BASE_URL: h.sandbox.urls.stripe,
    });
    const vk = await h.issue({ vendor: 'stripe' });
    const loop = probeLoop(h.proxy.dataUrl, '/v1/customers', vk.secret);
    const r = await runInProcess(['rotate', 'stripe', '--new-key-file', file, '--yes', '--json'], { env });
    const stats = await loop.stop();
    // The rotation is done at the proxy; deleting the old key is a person's job, and --yes is not a
    // person: it is left undone and said so (exit 6, partly done), never "confirmed by the operator".
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.steps.map((s: any) => s.state)).toEqual([
      'done',
      'done',
      'done',
      'done',
      'done',
      'done',
      'skipped',
      'manual-pending',
      'skipped',
    ]);
    expect(r.stderr).toContain('dashboard.stripe.com/apikeys');
    expect(r.stderr).toContain('left to do by hand (not done, not confirmed): delete the old key at Stripe');
    expect(stats.failures).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(fresh.secret);
  });

  it('a new key the vendor refuses stops the rotation before the proxy changes (exit 1)', async () => {
    const file = join(h.dir, 'bad-key.txt');
    writeFileSync(file, 'sk_test_thisisnotarealkey0000000000\n');
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: h.proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_STRIPE_BASE_URL: h.sandbox.urls.stripe,
    });
    const before = (await h.admin('GET', '/v1/upstream-keys?vendor=stripe')).body.data;
    const r = await runInProcess(['rotate', 'stripe', '--new-key-file', file, '--yes', '--json'], { env });
    expect([1, 6]).toContain(r.code);
    expect(JSON.parse(r.stdout).error.message).toMatch(/refused the new key/);
    expect((await h.admin('GET', '/v1/upstream-keys?vendor=stripe')).body.data).toEqual(before);
  });
});

describe('tourniquet rotate openai --old-key-id that the vendor does not know (404)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it('is "the thing named does not exist" (exit 4), never "already deleted" and verified; the old key still works', async () => {
    // Given an operator who names the old key with a typo (or an id from another project)
    const env = cliEnv(h, openaiEnv(h));
    // When the rotation reaches the delete at the vendor, which answers 404
    const r = await runInProcess(['rotate', 'openai', '--yes', '--json', '--old-key-id', 'key_typo0000000000'], {
      env,
    });
    // Then nothing claims the old key is gone
    expect(r.code, r.stderr).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(out.steps.find((s: { key: string }) => s.key === 'rotate:delete-old')).toMatchObject({ state: 'failed' });
    expect(out.error).toMatchObject({ kind: 'not-found' });
    expect(r.stderr).toContain('key_typo0000000000');
    const still = await fetch(`${h.sandbox.urls.openai}/v1/models`, {
      headers: { authorization: `Bearer ${h.sandbox.keys.openai.secret}` },
    });
    expect(still.status).toBe(200);
  });
});
