import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { startFixture, type Fixture } from '../incident/fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.stop();
});

type Check = { id: string; status: string; detail: string; fix?: string };
const byId = (j: { checks: Check[] }): Record<string, Check> => Object.fromEntries(j.checks.map((c) => [c.id, c]));

describe('doctor', () => {
  it('a proxy set up as seed 002 asks, with a webhook for alerts: every item passes, exit 0', async () => {
    const r = await runInProcess(['doctor', '--json'], {
      env: { ...f.env, TOURNIQUET_WEBHOOK_URL: 'http://127.0.0.1:9/hook' },
    });
    const j = JSON.parse(r.stdout);
    expect(
      j.checks.filter((c: { status: string; not_applicable?: boolean }) => c.status !== 'pass' && !c.not_applicable),
    ).toEqual([]);
    expect(r.code).toBe(0);
    expect(j.ready).toBe(true);
    expect(Object.keys(byId(j))).toEqual([
      'config',
      'credentials',
      'connectivity',
      'key-per-agent',
      'audit-columns',
      'audit-source',
      'revoke',
      'rate-monitor',
    ]);
    expect(byId(j)['audit-source']).toMatchObject({ status: 'skip', not_applicable: true });
    expect(byId(j).revoke!.detail).toMatch(/0 calls leaked/);
  });

  it('no alert destination: the rate monitor fails with its fix; exit 7', async () => {
    const r = await runInProcess(['doctor'], { env: f.env });
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/✖ a monitor on calls per minute per key/);
    expect(r.stdout).toMatch(/fix: set webhook_url, then run from cron every minute: tourniquet watch --once --notify/);
    expect(r.stdout).toMatch(/not ready: 1 of 7 items to fix/);
  });

  it('a shared key that names no agent and no run fails the key-per-agent item', async () => {
    await f.stage.admin.issueVaultKey({ vendor: 'stripe' });
    const r = await runInProcess(['doctor', '--json', '--no-drill'], { env: f.env });
    expect(r.code).toBe(7);
    const c = byId(JSON.parse(r.stdout))['key-per-agent']!;
    expect(c.status).toBe('fail');
    expect(c.detail).toMatch(/1 of 4 active keys name no agent and no run/);
  });

  it('a refused admin token fails credentials, skips what needs it, and exits 3 (credentials refused)', async () => {
    const r = await runInProcess(['doctor', '--json'], {
      env: { ...f.env, TOURNIQUET_ADMIN_TOKEN: 'wrong-token-0123456789' },
    });
    expect(r.code).toBe(3);
    const c = byId(JSON.parse(r.stdout));
    expect(c.credentials).toMatchObject({ status: 'fail', error_kind: 'auth' });
    expect(c.connectivity).toMatchObject({ status: 'skip' });
    expect(r.stdout).not.toContain('wrong-token-0123456789');
  });

  it('no configuration at all: config fails with the command that fixes it and the ways to get a proxy; every item is still listed', async () => {
    const r = await runInProcess(['doctor'], { env: isolatedEnv() });
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/fix: tourniquet config set proxy_url/);
    expect(r.stdout).toMatch(/tourniquet demo.*tourniquet sandbox.*tourniquet proxy serve/);
    expect(r.stdout).toMatch(/not ready: 8 of 8 items to fix/);
    const j = JSON.parse((await runInProcess(['doctor', '--json'], { env: isolatedEnv() })).stdout);
    expect(j.checks.map((c: Check) => `${c.id}:${c.status}`)).toEqual([
      'config:fail',
      'credentials:skip',
      'connectivity:skip',
      'key-per-agent:skip',
      'audit-columns:skip',
      'audit-source:skip',
      'revoke:skip',
      'rate-monitor:skip',
    ]);
    for (const c of j.checks.slice(1)) expect(c.detail).toMatch(/needs config/);
  });

  it('--no-drill lists the drill as skipped on purpose, and it does not count against readiness', async () => {
    const r = await runInProcess(['doctor', '--json', '--no-drill'], {
      env: { ...f.env, TOURNIQUET_WEBHOOK_URL: 'http://127.0.0.1:9/hook' },
    });
    const j = JSON.parse(r.stdout);
    expect(byId(j).revoke).toMatchObject({
      status: 'skip',
      not_applicable: true,
      detail: expect.stringMatching(/--no-drill/),
    });
    expect(j.ready).toBe(true);
    expect(r.code).toBe(0);
  });
});
