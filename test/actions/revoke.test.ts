import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startHarness, through, type Harness } from '../proxy/helpers.js';
import { runInProcess } from '../helpers/cli.js';
import { cliEnv } from './cli-env.js';

describe('tourniquet revoke against the real proxy', () => {
  let h: Harness;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    h = await startHarness();
    env = cliEnv(h);
  });
  afterAll(async () => h.stop());

  it('revokes, verifies that every instance refuses, and the agent is refused on its next request', async () => {
    // Given an agent whose vault key works
    const vk = await h.issue({ vendor: 'stripe' });
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
    // When we revoke it
    const r = await runInProcess(['revoke', vk.id, '--yes', '--json'], { env });
    // Then it is verified on the instance, with a time
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      verified: true,
      results: [
        { vault_key_id: vk.id, status: 'revoked', instances: [{ instance_id: h.proxy.instanceId, refused: true }] },
      ],
    });
    expect(typeof out.results[0].instances[0].ms).toBe('number');
    expect(out.incident_id).toMatch(/^inc_/);
    const refused = await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect([refused.status, refused.json.error.code]).toEqual([401, 'vault_key_revoked']);
    // And the journal has a revoked entry and a finished entry
    const journal = readFileSync(join(env.TOURNIQUET_STATE_DIR!, 'incidents', out.incident_id, 'journal.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(journal.find((e) => e.type === 'revoked')).toMatchObject({ vault_key_ids: [vk.id] });
    expect(journal.at(-1)).toMatchObject({ type: 'finished', status: 'done' });
    expect(JSON.stringify(journal)).not.toContain(ADMIN_TOKEN);
  });

  it('--hard and --reason: the reason goes to the journal, the revoke still lands', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(
      ['revoke', vk.id, '--hard', '--reason', 'runaway loop on checkout', '--yes', '--json'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const id = JSON.parse(r.stdout).incident_id;
    const t = await runInProcess(['timeline', id, '--json'], { env });
    expect(JSON.parse(t.stdout).entries[0].params).toMatchObject({ hard: true, reason: 'runaway loop on checkout' });
    expect((await h.admin('GET', `/v1/vault-keys/${vk.id}`)).body).toMatchObject({
      status: 'revoked',
      revoke_mode: 'hard',
    });
  });

  it('is idempotent: a revoked key is already-revoked, still verified', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    await runInProcess(['revoke', vk.id, '--yes', '--json'], { env });
    const again = await runInProcess(['revoke', vk.id, '--yes', '--json'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).results[0]).toMatchObject({
      status: 'already-revoked',
      instances: [{ refused: true }],
    });
  });

  it('an unknown key is exit 4 with --json, not a fake success: verified false, nothing "done and verified"', async () => {
    const r = await runInProcess(['revoke', 'vk_nope_000', '--yes', '--json'], { env });
    expect(r.code).toBe(4);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      verified: false,
      results: [{ vault_key_id: 'vk_nope_000', status: 'not-found', verified: false }],
    });
    expect(r.stderr).toMatch(/no vault key vk_nope_000: nothing done for it/);
    expect(r.stderr).not.toMatch(/done and verified/);
  });

  it('a known and an unknown key: the known one is revoked and verified, the run is still exit 4', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['revoke', vk.id, 'vk_nope_001', '--yes', '--json'], { env });
    expect(r.code).toBe(4);
    const byId = Object.fromEntries(JSON.parse(r.stdout).results.map((x: any) => [x.vault_key_id, x]));
    expect(byId[vk.id]).toMatchObject({ status: 'revoked', verified: true });
    expect(byId.vk_nope_001).toMatchObject({ status: 'not-found', verified: false });
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(401);
  });

  it('refused admin credentials: exit 3 with --json, the error on stdout, the key untouched', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['revoke', vk.id, '--yes', '--json'], {
      env: { ...env, TOURNIQUET_ADMIN_TOKEN: 'wrong-admin-token-0123456789' },
    });
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(out.error).toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/refused our credentials \(HTTP 401\)/),
    });
    expect(r.stdout + r.stderr).not.toContain('wrong-admin-token-0123456789');
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  });

  it("--vendor revokes every vault key of that vendor, and no other vendor's", async () => {
    const a = await h.issue({ vendor: 'openai' });
    const b = await h.issue({ vendor: 'openai' });
    const other = await h.issue({ vendor: 'resend' });
    const r = await runInProcess(['revoke', '--vendor', 'openai', '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const ids = JSON.parse(r.stdout).results.map((x: any) => x.vault_key_id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids).not.toContain(other.id);
    for (const k of [a, b])
      expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', k.secret)).status).toBe(401);
    expect((await h.admin('GET', `/v1/vault-keys/${other.id}`)).body.status).toBe('active');
  });

  it('--all-under revokes every vault key under one production key, and only those', async () => {
    // Given two Twilio production keys, keys pinned to each, and one following the active key
    const added = await h.admin('POST', '/v1/upstream-keys', {
      vendor: 'twilio',
      secret: h.sandbox.keys.twilio.secret,
      account_sid: h.sandbox.keys.twilio.account_sid,
      state: 'standby',
      label: 'second',
    });
    const active = (await h.admin('GET', '/v1/upstream-keys?vendor=twilio')).body.data.find(
      (k: any) => k.state === 'active',
    );
    const pinned = await h.issue({ vendor: 'twilio', upstream_key_id: active.id });
    const follower = await h.issue({ vendor: 'twilio' });
    const elsewhere = await h.issue({ vendor: 'twilio', upstream_key_id: added.body.id });
    // When we revoke everything under the active one
    const r = await runInProcess(['revoke', '--all-under', active.id, '--yes', '--json'], { env });
    // Then the pinned key and the follower are revoked and verified; the key on the other production key is untouched
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(true);
    expect(out.results.map((x: any) => x.vault_key_id).sort()).toEqual([pinned.id, follower.id].sort());
    for (const k of [pinned, follower])
      expect((await h.admin('GET', `/v1/vault-keys/${k.id}`)).body.status).toBe('revoked');
    expect((await h.admin('GET', `/v1/vault-keys/${elsewhere.id}`)).body.status).toBe('active');
  });

  it('--dry-run prints the calls and makes none', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['revoke', vk.id, '--dry-run'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`DELETE ${h.proxy.adminUrl}/v1/vault-keys/${vk.id}`);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  });

  it('no terminal and no --yes is exit 2 naming --yes, and nothing is revoked', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['revoke', vk.id], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  });

  it('the verdict endpoint answers from the instance memory', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const before = await h.admin('GET', `/v1/vault-keys/${vk.id}/verdict`);
    expect(before.body).toMatchObject({ refused: false, verdict: 'allowed', instance_id: h.proxy.instanceId });
    await h.admin('DELETE', `/v1/vault-keys/${vk.id}`);
    const after = await h.admin('GET', `/v1/vault-keys/${vk.id}/verdict`);
    expect(after.body).toMatchObject({ refused: true, verdict: 'vault_key_revoked' });
    const unknown = await h.admin('GET', '/v1/vault-keys/vk_unknown/verdict');
    expect(unknown.body).toMatchObject({ refused: true, verdict: 'vault_key_unknown' });
  });

  it('timeline and incidents show what happened', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['revoke', vk.id, '--yes', '--json'], { env });
    const id = JSON.parse(r.stdout).incident_id;
    const t = await runInProcess(['timeline', id], { env });
    expect(t.code).toBe(0);
    expect(t.stdout).toContain(`revoked ${vk.id}`);
    expect(t.stdout).toContain('verified');
    const list = await runInProcess(['incidents', '--json'], { env });
    expect(JSON.parse(list.stdout).data.find((x: any) => x.id === id)).toMatchObject({ status: 'done' });
  });
});
