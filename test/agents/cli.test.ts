import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess, type CliResult } from '../helpers/cli.js';
import { startAccountsFake, type AccountsFake } from '../../src/sandbox/agent-platforms/accounts.js';
import { startAgentsApiFake, type AgentsApiFake } from '../../src/sandbox/agent-platforms/agents-api.js';
import { jwkThumbprint, validatePublicJwk } from '../../src/core/jwk.js';

const ADMIN = 'sk_live_admin_feedface0123456789';

/** No secret we know of may appear whole in anything the CLI printed. */
function expectNoLeak(r: CliResult, secrets: string[]) {
  for (const s of secrets) {
    expect(r.stdout).not.toContain(s);
    expect(r.stderr).not.toContain(s);
  }
}

describe('tourniquet agent … (seed 000 accounts API)', () => {
  let fake: AccountsFake;
  let env: Record<string, string | undefined>;
  beforeEach(async () => {
    fake = await startAccountsFake({ adminKey: ADMIN });
    env = isolatedEnv({ TOURNIQUET_AGENT_ACCOUNTS_URL: fake.baseUrl, TOURNIQUET_AGENT_ACCOUNTS_KEY: ADMIN });
  });
  afterEach(async () => {
    expect(fake.unexpected).toEqual([]);
    await fake.close();
  });

  it('Given an active agent, When disable --yes --json, Then it is disabled, verified, exit 0, no secret printed', async () => {
    const a = fake.addAgent('loop-agent');
    const r = await runInProcess(['agent', 'disable', a.id, '--yes', '--json', '--reason', 'stuck in a loop'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      action: 'disable',
      status: 'disabled',
      agent_id: a.id,
      verified: true,
      reason: 'stuck in a loop',
    });
    expect(fake.agents.get(a.id)?.status).toBe('disabled');
    expectNoLeak(r, [ADMIN, a.api_key]);
  });

  it('takes the platform URL and the admin-key reference from the profile (tourniquet config set)', async () => {
    const a = fake.addAgent('profiled');
    const bare = isolatedEnv({ ATXP_KEY: ADMIN });
    expect((await runInProcess(['config', 'set', 'agents.accounts.base_url', fake.baseUrl], { env: bare })).code).toBe(
      0,
    );
    expect(
      (await runInProcess(['config', 'set', 'agents.accounts.admin_key', 'env:ATXP_KEY'], { env: bare })).code,
    ).toBe(0);
    const r = await runInProcess(['agent', 'disable', a.id, '--yes', '--json'], { env: bare });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).verified).toBe(true);
  });

  it('without a terminal and without --yes: exit 2 naming --yes, and no change', async () => {
    const a = fake.addAgent('loop-agent');
    const r = await runInProcess(['agent', 'archive', a.id], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    expect(fake.agents.get(a.id)?.status).toBe('active');
    expect(fake.requests.filter((q) => q.method !== 'GET')).toEqual([]);
  });

  it('--dry-run prints each call (method + URL) and makes none, the admin key redacted away', async () => {
    const a = fake.addAgent('x');
    const r = await runInProcess(['agent', 'delete', a.id, '--dry-run'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`DELETE ${fake.baseUrl}/agents/${a.id}`);
    expect(fake.requests).toEqual([]);
    expectNoLeak(r, [ADMIN]);
  });

  it('exits 5 when the platform answers 200 but the agent is still active', async () => {
    const a = fake.addAgent('stubborn');
    fake.ignorePatches = true;
    const r = await runInProcess(['agent', 'disable', a.id, '--yes'], { env });
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('NOT VERIFIED');
  });

  it('exits 4 for an unknown agent and 3 for a refused admin key', async () => {
    expect((await runInProcess(['agent', 'disable', 'agt_missing', '--yes'], { env })).code).toBe(4);
    const bad = await runInProcess(['agent', 'disable', 'agt_missing', '--yes'], {
      env: { ...env, TOURNIQUET_AGENT_ACCOUNTS_KEY: 'sk_live_wrong_key_0000000000' },
    });
    expect(bad.code).toBe(3);
    expectNoLeak(bad, ['sk_live_wrong_key_0000000000']);
  });

  it('delete is idempotent: deleted, then already-deleted', async () => {
    const a = fake.addAgent('retired');
    const first = await runInProcess(['agent', 'delete', a.id, '--yes', '--json'], { env });
    const second = await runInProcess(['agent', 'delete', a.id, '--yes', '--json'], { env });
    expect([JSON.parse(first.stdout).status, JSON.parse(second.stdout).status]).toEqual(['deleted', 'already-deleted']);
    expect(second.code).toBe(0);
  });

  it('create writes the new key to --out with mode 0600 and prints only its hint', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tq-agent-')), 'new-key.txt');
    const r = await runInProcess(['agent', 'create', 'research-agent-v2', '--budget', '10', '--out', out, '--json'], {
      env,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const secret = readFileSync(out, 'utf8').trim();
    expect(secret).toMatch(/^ak_live_/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(report).toMatchObject({ status: 'created', budget: 10, verified: true, key_file: out });
    expect(report.key_hint).toBe(`ak_live_…${secret.slice(-4)}`);
    expectNoLeak(r, [secret, ADMIN]);
    const again = await runInProcess(['agent', 'create', 'another', '--budget', '10', '--out', out], { env });
    expect(again.code).toBe(2); // never overwrites a key file
  });

  it('in GitHub Actions: the new key is masked (on stderr), stdout stays JSON, a summary is appended', async () => {
    const d = mkdtempSync(join(tmpdir(), 'tq-gh-'));
    const summary = join(d, 'summary.md');
    writeFileSync(summary, '');
    const r = await runInProcess(['agent', 'create', 'ci-agent', '--budget', '3', '--out', join(d, 'key'), '--json'], {
      env: { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(r.code).toBe(0);
    const secret = readFileSync(join(d, 'key'), 'utf8').trim();
    expect(r.stderr).toContain(`::add-mask::${secret}`);
    expect(JSON.parse(r.stdout).status).toBe('created');
    const md = readFileSync(summary, 'utf8');
    expect(md).toContain('### tourniquet agent create ci-agent: ✅ verified');
    expect(md).toContain('| budget | 3 |');
    expect(md).not.toContain(secret);
  });

  it('list prints every agent with its status; --json too', async () => {
    const a = fake.addAgent('one');
    fake.addAgent('two', 5, 'disabled');
    const r = await runInProcess(['agent', 'list'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${a.id}\\s+one\\s+active`));
    expect(JSON.parse((await runInProcess(['agent', 'list', '--json'], { env })).stdout).agents).toHaveLength(2);
    expectNoLeak(r, [ADMIN, a.api_key]);
  });

  it('no agent id and nobody at a terminal: exit 2 pointing at agent list, no call', async () => {
    const r = await runInProcess(['agent', 'disable', '--yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('tourniquet agent list');
    expect(fake.requests).toEqual([]);
  });

  it('a create the platform refuses leaves no empty key file behind', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tq-agent-')), 'k');
    const r = await runInProcess(['agent', 'create', 'x', '--budget', '1', '--out', out], {
      env: { ...env, TOURNIQUET_AGENT_ACCOUNTS_KEY: 'sk_live_wrong_key_0000000000' },
    });
    expect(r.code).toBe(3);
    expect(existsSync(out)).toBe(false);
  });

  it('create without --out or with a bad budget is exit 2 before any call', async () => {
    expect((await runInProcess(['agent', 'create', 'x', '--budget', '10'], { env })).code).toBe(2);
    expect((await runInProcess(['agent', 'create', 'x', '--budget', '-1', '--out', '/tmp/x'], { env })).code).toBe(2);
    expect(fake.requests).toEqual([]);
  });
});

describe('tourniquet agent deactivate / rotate-dpop-key (seed 003 Agents API)', () => {
  let fake: AgentsApiFake;
  let env: Record<string, string | undefined>;
  let dir: string;
  beforeEach(async () => {
    fake = await startAgentsApiFake({ adminKey: ADMIN });
    env = isolatedEnv({ TOURNIQUET_AGENTS_API_URL: fake.url, TOURNIQUET_AGENTS_API_KEY: ADMIN });
    dir = mkdtempSync(join(tmpdir(), 'tq-jwk-'));
  });
  afterEach(async () => {
    expect(fake.unexpected).toEqual([]);
    await fake.close();
  });
  const jwkFile = (jwk: unknown, name = 'key.jwk') => {
    const p = join(dir, name);
    writeFileSync(p, typeof jwk === 'string' ? jwk : JSON.stringify(jwk));
    return p;
  };

  it('deactivate revokes every token and verifies active=false', async () => {
    const a = fake.addAgent('billing-bot');
    fake.tokens.push({ token: 'at_x', agent_id: a.id, jkt: '', active: true, exp: Date.now() / 1000 + 600 });
    const r = await runInProcess(['agent', 'deactivate', a.id, '--yes', '--json'], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'deactivated', verified: true, observed_active: false });
    expect(fake.tokens[0]!.active).toBe(false);
    expectNoLeak(r, [ADMIN, a.client_secret]);
  });

  it('deactivate exits 5 when the agent is still active afterwards', async () => {
    const a = fake.addAgent('billing-bot');
    fake.faults.ignoreDeactivate = true;
    const r = await runInProcess(['agent', 'deactivate', a.id, '--yes', '--json'], { env });
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout).verified).toBe(false);
  });

  it('rotate-dpop-key reports old_jkt, new_jkt (= our thumbprint), revoked_token_count, audit_event_id', async () => {
    const old = validatePublicJwk(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    );
    const a = fake.addAgent('dpop', jwkThumbprint(old));
    fake.tokens.push({
      token: 'at_1',
      agent_id: a.id,
      jkt: jwkThumbprint(old),
      active: true,
      exp: Date.now() / 1000 + 600,
    });
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const r = await runInProcess(
      ['agent', 'rotate-dpop-key', a.id, '--jwk-file', jwkFile(jwk), '--reason', 'laptop lost', '--yes', '--json'],
      { env },
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      status: 'rotated',
      old_jkt: jwkThumbprint(old),
      new_jkt: jwkThumbprint(validatePublicJwk(jwk)),
      verified: true,
      revoked_token_count: 1,
      reason: 'laptop lost',
    });
    expect(out.audit_event_id).toMatch(/^evt_/);
    expect(fake.audit.at(-1)?.metadata.reason).toBe('laptop lost');
  });

  it('reads the JWK from stdin with --jwk-file -', async () => {
    const a = fake.addAgent('dpop');
    const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const r = await runInProcess(['agent', 'rotate-dpop-key', a.id, '--jwk-file', '-', '--yes', '--json'], {
      env,
      stdin: JSON.stringify(jwk),
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).verified).toBe(true);
  });

  it("exits 5 when the server's new_jkt is not the thumbprint of the key we sent", async () => {
    const a = fake.addAgent('dpop');
    fake.faults.wrongJkt = true;
    const r = await runInProcess(
      [
        'agent',
        'rotate-dpop-key',
        a.id,
        '--jwk-file',
        jwkFile(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' })),
        '--yes',
      ],
      { env },
    );
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('EXPECTED');
  });

  const ecPub = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const invalid: [string, unknown][] = [
    ['a private key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })],
    ['not JSON', 'kty=EC'],
    ['a P-384 key', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' })],
    ['a short coordinate', { ...ecPub, y: 'AAAA' }],
    ['a symmetric key', { kty: 'oct', k: 'c2VjcmV0' }],
    ['an empty file', ''],
  ];
  for (const [name, jwk] of invalid)
    it(`an invalid JWK (${name}) is exit 2 and no request reaches the server`, async () => {
      const a = fake.addAgent('dpop');
      const r = await runInProcess(['agent', 'rotate-dpop-key', a.id, '--jwk-file', jwkFile(jwk), '--yes', '--json'], {
        env,
      });
      expect(r.code).toBe(2);
      expect(fake.requests).toEqual([]);
      expect(JSON.parse(r.stdout).error.exit_code).toBe(2);
      if (typeof jwk === 'object' && jwk && 'd' in jwk) expectNoLeak(r, [String((jwk as { d: string }).d)]);
    });

  it('a missing --jwk-file is exit 2 naming the flag', async () => {
    const r = await runInProcess(['agent', 'rotate-dpop-key', 'agent_x', '--yes'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--jwk-file');
    expect(fake.requests).toEqual([]);
  });
});
