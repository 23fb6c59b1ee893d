import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN, startHarness, through, type Harness } from '../proxy/helpers.js';
import { runInProcess } from '../helpers/cli.js';
import { cliEnv } from './cli-env.js';

describe('issue and roll against the real proxy', () => {
  let h: Harness;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    h = await startHarness();
    env = cliEnv(h);
  });
  afterAll(async () => h.stop());

  it('issue prints the secret once on stdout, and it works through the proxy with its policy', async () => {
    const r = await runInProcess(
      [
        'issue',
        '--vendor',
        'stripe',
        '--cap',
        '100',
        '--endpoint',
        'GET /v1/customers',
        '--expires-in',
        '45m',
        '--run',
        'checkout_run_abc123',
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const secret = r.stdout.trim();
    expect(secret).toMatch(/^vk_/);
    expect(r.stderr).not.toContain(secret);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', secret)).status).toBe(200);
    expect((await through(h.proxy.dataUrl, 'POST', '/v1/charges', secret, 'amount=100&currency=usd')).status).toBe(403);
  });

  it('issue --out writes the secret with mode 0600 and prints only the id', async () => {
    const out = join(env.HOME!, 'vk.txt');
    const r = await runInProcess(['issue', '--vendor', 'openai', '--expires-in', '1h', '--out', out, '--json'], {
      env,
    });
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout);
    const secret = readFileSync(out, 'utf8').trim();
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(info).toMatchObject({ vendor: 'openai', secret_file: out });
    expect(info.secret).toBeUndefined();
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('issue refuses bad input with exit 2 before any call', async () => {
    expect((await runInProcess(['issue', '--vendor', 'stripe', '--expires-in', 'soon'], { env })).code).toBe(2);
    expect((await runInProcess(['issue', '--cap', '5'], { env })).code).toBe(2);
  });

  it('roll gives a new secret with the same policy and revokes the old one, verified', async () => {
    const old = await h.issue({ vendor: 'stripe', allowed_endpoints: ['GET /v1/customers'], daily_usd_cap: 50 });
    const r = await runInProcess(['roll', old.id, '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ old_id: old.id, old_revoked: true, status: 'done' });
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', out.secret)).status).toBe(200);
    expect((await through(h.proxy.dataUrl, 'POST', '/v1/charges', out.secret, 'amount=100&currency=usd')).status).toBe(
      403,
    );
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', old.secret)).status).toBe(401);
    const rec = (await h.admin('GET', `/v1/vault-keys/${out.new_id}`)).body;
    expect(rec).toMatchObject({ daily_usd_cap: 50, allowed_endpoints: ['GET /v1/customers'] });
  });

  it('under GitHub Actions: secrets are masked and a Markdown summary is appended', async () => {
    const summary = join(env.HOME!, 'summary.md');
    const ghEnv = { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
    const old = await h.issue({ vendor: 'stripe' });
    const r = await runInProcess(['roll', old.id, '--yes', '--json'], { env: ghEnv });
    expect(r.code, r.stderr).toBe(0);
    // Masks go to stderr (the runner reads commands there too), so stdout stays pure JSON
    const masks = r.stderr.split('\n').filter((l) => l.startsWith('::add-mask::'));
    const json = JSON.parse(r.stdout);
    expect(masks).toContain(`::add-mask::${json.secret}`);
    expect(masks).toContain(`::add-mask::${ADMIN_TOKEN}`);
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('### tourniquet roll');
    expect(md).toContain(json.incident_id);
    expect(md).not.toContain(json.secret);
  });
});
