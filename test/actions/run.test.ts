import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, through, type Harness } from '../proxy/helpers.js';
import { runInProcess } from '../helpers/cli.js';
import { cliEnv, openaiEnv } from './cli-env.js';

describe('tourniquet run: plans from decide, executed', () => {
  let h: Harness;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    h = await startHarness();
    env = cliEnv(h, openaiEnv(h));
  });
  afterAll(async () => h.stop());

  it('runaway-loop: revokes the vault key (verified) and summarises the damage', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    for (let i = 0; i < 3; i++)
      await through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, 'amount=1000&currency=usd&customer=cus_A');
    const r = await runInProcess(
      ['run', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--vault-key', vk.id, '--yes', '--json'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps.map((s: any) => [s.kind, s.state])).toEqual([
      ['revoke-vault-key', 'done'],
      ['damage-summary', 'done'],
    ]);
    expect(out.steps[0].verified).toBe(true);
    expect(out.steps[1].detail).toMatch(/calls allowed/);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(401);
  });

  it('vault-key-in-logs: revokes and re-issues with the same policy; the new secret is printed once', async () => {
    const vk = await h.issue({ vendor: 'stripe', daily_usd_cap: 20 });
    const r = await runInProcess(
      ['run', '--scenario', 'vault-key-in-logs', '--vendor', 'stripe', '--vault-key', vk.id, '--yes', '--json'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.reissued).toHaveLength(1);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', out.reissued[0].secret)).status).toBe(200);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(401);
  });

  it('production-key-exposed: revoke everything under the key, rotate through the proxy, re-issue', async () => {
    const up = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data.find(
      (k: any) => k.state === 'active',
    );
    const a = await h.issue({ vendor: 'openai' });
    const r = await runInProcess(
      [
        'run',
        '--scenario',
        'production-key-exposed',
        '--vendor',
        'openai',
        '--upstream-key',
        up.id,
        '--old-key-id',
        h.sandbox.keys.openai.id,
        '--yes',
        '--json',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('done');
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', a.secret)).status).toBe(401);
    const fresh = out.reissued.find((x: any) => x.secret);
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', fresh.secret)).status).toBe(200);
    const keys = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data;
    expect(keys.find((k: any) => k.id === up.id).state).toBe('retired');
  });

  it('a plan that breaks part-way is exit 6 (journal saved), and resume finishes it', async () => {
    const up = (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data.find(
      (k: any) => k.state === 'active',
    );
    const a = await h.issue({ vendor: 'openai' });
    // Given a wrong OpenAI admin key: the revoke works, the rotation cannot create a key
    const broken = { ...env, OPENAI_ADMIN_KEY: 'sk-admin-wrong-000000000000000000' };
    const r = await runInProcess(
      ['run', '--scenario', 'production-key-exposed', '--vendor', 'openai', '--upstream-key', up.id, '--yes', '--json'],
      { env: broken },
    );
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('partial');
    expect(r.stderr).toContain(`tourniquet resume ${out.incident_id}`);
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', a.secret)).status).toBe(401);
    // resume --dry-run shows what is left and changes nothing
    const dry = await runInProcess(['resume', out.incident_id, '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    const left = JSON.parse(dry.stdout).steps.map((s: any) => s.key);
    expect(left[0]).toBe('2.rotate:new-key');
    expect(left).not.toContain('1.revoke-all:' + up.id);
    expect(
      (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data.find((k: any) => k.id === up.id).state,
    ).toBe('active');
    // When the admin key is fixed and the incident resumed
    const resumed = await runInProcess(['resume', out.incident_id, '--yes', '--json'], { env });
    expect(resumed.code, resumed.stderr).toBe(0);
    const done = JSON.parse(resumed.stdout);
    expect(done).toMatchObject({ status: 'done', command: 'run' });
    expect(done.reissued.length).toBeGreaterThan(0);
    expect((await through(h.proxy.dataUrl, 'GET', '/openai/v1/models', done.reissued[0].secret)).status).toBe(200);
    expect(
      (await h.admin('GET', '/v1/upstream-keys?vendor=openai')).body.data.find((k: any) => k.id === up.id).state,
    ).toBe('retired');
  });

  it('raw-key-wrap: issues the constrained vault key from the policy flags; the secret is printed once', async () => {
    const r = await runInProcess(
      [
        'run',
        '--scenario',
        'raw-key-wrap',
        '--vendor',
        'stripe',
        '--agent',
        'agt_raw',
        '--cap',
        '10',
        '--endpoint',
        'GET /v1/customers',
        '--expires-in',
        '45m',
        '--yes',
        '--json',
      ],
      { env },
    );
    // The key is issued; the two steps a person must do are not done: --yes does not stand for a person
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.steps.map((s: any) => s.state)).toEqual(['done', 'manual-pending', 'manual-pending']);
    expect(out.steps[1].detail).toMatch(/^NOT DONE, left to do by hand: /);
    expect(r.stderr).toMatch(/left to do by hand \(not done, not confirmed\): /);
    expect(r.stderr).toContain(`tourniquet resume ${out.incident_id}`);
    expect(r.stderr).not.toContain('confirmed by the operator');
    // the journal says so too, and a resume (still unattended) asks again rather than counting them done
    const timeline = await runInProcess(['timeline', out.incident_id, '--json'], { env });
    expect(timeline.stdout).toContain('manual-pending');
    expect(timeline.stdout).not.toContain('confirmed by the operator');
    const again = await runInProcess(['resume', out.incident_id, '--yes', '--json'], { env });
    expect(again.code, again.stderr).toBe(6);
    expect(JSON.parse(again.stdout).steps.map((s: any) => s.state)).toEqual([
      'resumed-done',
      'manual-pending',
      'manual-pending',
    ]);
    const [fresh] = out.reissued;
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', fresh.secret)).status).toBe(200);
    expect(
      (await through(h.proxy.dataUrl, 'POST', '/v1/charges', fresh.secret, 'amount=100&currency=usd')).status,
    ).toBe(403);
    expect((await h.admin('GET', `/v1/vault-keys/${fresh.id}`)).body).toMatchObject({
      daily_usd_cap: 10,
      labels: { agent: 'agt_raw' },
    });
    expect(r.stderr).not.toContain(fresh.secret);
  });

  it('--dry-run lists every call of the plan and makes none', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(
      ['run', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--vault-key', vk.id, '--dry-run'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`/v1/vault-keys/${vk.id}`);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  });

  it('a manual step needs a person: with no terminal and no --yes it is exit 2 naming --yes', async () => {
    const r = await runInProcess(['run', '--scenario', 'agent-retired', '--agent', 'agt_1'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
  });
});
