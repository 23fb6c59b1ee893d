import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, startServer, type TestServer } from '../helpers/server.js';
import { startLiteLlmFake, type LiteLlmFake } from '../helpers/litellm-fake.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { createLiteLlmProxy } from '../../src/adapters/proxy/litellm.js';
import { createCommandProxy } from '../../src/adapters/proxy/command.js';

const MASTER = 'sk-litellm-master-0123456789';

/** The LiteLLM fake (test/helpers/litellm-fake.ts) with one agent key. */
async function fakeLiteLlm(): Promise<LiteLlmFake> {
  const lite = await startLiteLlmFake(MASTER);
  lite.keys.set('tok_agent7', {
    token: 'tok_agent7',
    key_name: 'sk-...x7',
    blocked: false,
    max_budget: 5,
    models: ['gpt-4o'],
    metadata: { agent_run_id: 'run_1' },
  });
  return lite;
}

describe('LiteLLM virtual keys as vault keys', () => {
  let lite: Awaited<ReturnType<typeof fakeLiteLlm>>;
  beforeAll(async () => {
    lite = await fakeLiteLlm();
  });
  afterAll(async () => lite.close());

  it('revoke is /key/block (never /key/delete), idempotent, and verified by /key/info', async () => {
    const p = createLiteLlmProxy({ baseUrl: lite.url, masterKey: MASTER });
    expect(await p.revokeVaultKey('tok_agent7', { hard: false })).toMatchObject({ status: 'revoked' });
    expect(await p.revokeVaultKey('tok_agent7', { hard: false })).toMatchObject({ status: 'already-revoked' });
    expect(await p.revokeVaultKey('tok_missing', { hard: false })).toMatchObject({ status: 'not-found' });
    const [inst] = await p.instances();
    expect(await p.probeVaultKey('tok_agent7', inst!)).toMatchObject({ refused: true, code: 'key_blocked' });
    expect(lite.requests.some((r) => r.url.startsWith('/key/delete'))).toBe(false);
    expect(lite.keys.get('tok_agent7')).toBeDefined(); // history stays attributable
  });

  it('revoke through the CLI with proxy_kind litellm', async () => {
    lite.keys.set('tok_b', { token: 'tok_b', blocked: false });
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: lite.url, LITELLM_MASTER: MASTER });
    expect((await runInProcess(['config', 'set', 'proxy_kind', 'litellm'], { env })).code).toBe(0);
    expect((await runInProcess(['config', 'set', 'admin_token_env', 'LITELLM_MASTER'], { env })).code).toBe(0);
    const r = await runInProcess(['revoke', 'tok_b', '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      verified: true,
      results: [{ vault_key_id: 'tok_b', status: 'revoked', instances: [{ refused: true }] }],
    });
    expect(r.stdout + r.stderr).not.toContain(MASTER);
  });

  it('issue is /key/generate; roll is a new /key/generate with the old limits (regenerate is Enterprise-only), the old key blocked', async () => {
    const p = createLiteLlmProxy({ baseUrl: lite.url, masterKey: MASTER });
    const k = await p.issueVaultKey({ vendor: 'openai', daily_usd_cap: 10, expires_in: '45m', agent_run_id: 'run_9' });
    expect(k.secret).toMatch(/^sk-generated-/);
    const gen = lite.requests.find((r) => r.url === '/key/generate')!;
    expect(JSON.parse(gen.body)).toMatchObject({
      duration: '45m',
      max_budget: 10,
      budget_duration: '1d',
      metadata: { agent_run_id: 'run_9' },
    });
    const rolled = await p.rollVaultKey(k.id, { revokeOld: true });
    expect(rolled.id).not.toBe(k.id);
    expect(rolled).toMatchObject({ rolled_from: k.id, vendor: 'openai' });
    expect(lite.keys.get(rolled.id)).toMatchObject({
      max_budget: 10,
      budget_duration: '1d',
      metadata: { agent_run_id: 'run_9', rolled_from: k.id },
    });
    expect(lite.keys.get(k.id)!.blocked).toBe(true);
    expect(lite.requests.some((r) => r.url.includes('/regenerate'))).toBe(false);
  });

  it('lists every key, past the 10 a page /key/list gives by default; no `duration` read from key info', async () => {
    const p = createLiteLlmProxy({ baseUrl: lite.url, masterKey: MASTER });
    for (let i = 0; i < 130; i++)
      lite.keys.set(`tok_many_${i}`, { token: `tok_many_${i}`, blocked: false, metadata: {} });
    const all = await p.listVaultKeys({});
    expect(all.length).toBe(lite.keys.size);
    expect(all.every((k) => !('duration' in k.policy))).toBe(true);
  });

  it('production-key operations are refused clearly, not faked', async () => {
    const p = createLiteLlmProxy({ baseUrl: lite.url, masterKey: MASTER });
    await expect(p.promoteUpstreamKey('x')).rejects.toThrow(/cannot promote/);
  });
});

describe('LiteLLM: revoke --vendor and --all-under revoke only what the filter names', () => {
  let lite: LiteLlmFake;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    lite = await startLiteLlmFake(MASTER);
    // Keys as `issue` makes them: the vendor in the key's metadata
    lite.keys.set('tok_openai_agent', { token: 'tok_openai_agent', blocked: false, metadata: { vendor: 'openai' } });
    lite.keys.set('tok_anthropic_agent', {
      token: 'tok_anthropic_agent',
      blocked: false,
      metadata: { vendor: 'anthropic' },
    });
    env = isolatedEnv({ TOURNIQUET_PROXY_URL: lite.url, LITELLM_MASTER: MASTER });
    await runInProcess(['config', 'set', 'proxy_kind', 'litellm'], { env });
    await runInProcess(['config', 'set', 'admin_token_env', 'LITELLM_MASTER'], { env });
  });
  afterAll(async () => lite.close());

  it('--all-under: LiteLLM cannot tell which keys use a production key: exit 2, nothing blocked', async () => {
    const r = await runInProcess(['revoke', '--all-under', 'up_openai_main', '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('--vendor');
    expect(lite.requests.some((q) => q.url === '/key/block')).toBe(false);
  });

  it("--vendor openai blocks the openai agent's key, not the anthropic agent's", async () => {
    const r = await runInProcess(['revoke', '--vendor', 'openai', '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results.map((x: { vault_key_id: string }) => x.vault_key_id)).toEqual([
      'tok_openai_agent',
    ]);
    expect(lite.keys.get('tok_openai_agent')!.blocked).toBe(true);
    expect(lite.keys.get('tok_anthropic_agent')!.blocked).toBe(false);
  });
});

/**
 * A LiteLLM whose /key/block answers 200 and blocks nothing, and whose /key/info answers the key
 * once, then 200 with `later` as the body (empty, JSON null, "" or false): a gateway or a truncated
 * answer, never LiteLLM's "Key not found" (a 404).
 */
async function litellmAnsweringEmptyInfo(later: string): Promise<TestServer> {
  let reads = 0;
  return startServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${MASTER}`) return json(res, 401, { error: { message: 'auth' } });
    if (req.method === 'POST' && req.url === '/key/block') return json(res, 200, { token: 'tok_agent7' });
    if (req.method === 'GET' && req.url.startsWith('/key/info?')) {
      if (++reads === 1) return json(res, 200, { key: 'tok_agent7', info: { token: 'tok_agent7', blocked: false } });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(later);
      return;
    }
    res.statusCode = 599;
    res.end(`unexpected ${req.method} ${req.url}`);
  });
}

describe('LiteLLM: only a 404 from /key/info means "no such key"', () => {
  it.each([
    ['an empty body', ''],
    ['null', 'null'],
    ['""', '""'],
    ['false', 'false'],
  ])('a 200 with %s after the block is not proof: exit 5, not verified', async (_what, later) => {
    const srv = await litellmAnsweringEmptyInfo(later);
    try {
      const env = isolatedEnv({ TOURNIQUET_PROXY_URL: srv.url, LITELLM_MASTER: MASTER });
      await runInProcess(['config', 'set', 'proxy_kind', 'litellm'], { env });
      await runInProcess(['config', 'set', 'admin_token_env', 'LITELLM_MASTER'], { env });
      const r = await runInProcess(['revoke', 'tok_agent7', '--yes', '--json', '--verify-timeout', '300'], { env });
      expect(r.code, r.stderr).toBe(5);
      expect(JSON.parse(r.stdout)).toMatchObject({
        verified: false,
        results: [{ vault_key_id: 'tok_agent7', instances: [{ refused: false }] }],
      });
    } finally {
      await srv.close();
    }
  });

  it('an empty 200 before the block is a shape error, not "not-found"', async () => {
    const srv = await startServer((_req, res) => {
      res.statusCode = 200;
      res.end();
    });
    try {
      const p = createLiteLlmProxy({ baseUrl: srv.url, masterKey: MASTER });
      await expect(p.revokeVaultKey('tok_agent7', { hard: false })).rejects.toThrow(/no key info/);
      expect(await p.getVaultKey('tok_agent7').catch((e: Error) => e.message)).toMatch(/no key info/);
    } finally {
      await srv.close();
    }
  });
});

describe('the command adapter (an in-house proxy driven by configuration)', () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer((req, res) => {
      res.statusCode = req.url.includes('vk_gone') ? 404 : req.url.includes('vk_done') ? 409 : 204;
      res.end();
    });
  });
  afterAll(async () => srv.close());

  it('http: fills {vault_key_id}, puts the token only in the header, maps 404/409 to outcomes', async () => {
    const p = createCommandProxy({
      adminToken: 'tok-0123456789abcdef',
      actions: {
        revoke: {
          http: {
            method: 'POST',
            url: `${srv.url}/keys/{vault_key_id}/disable`,
            headers: { authorization: 'Bearer {admin_token}' },
          },
        },
      },
    });
    expect(await p.revokeVaultKey('vk_1', { hard: false })).toMatchObject({ status: 'revoked' });
    expect(await p.revokeVaultKey('vk_gone', { hard: false })).toMatchObject({ status: 'not-found' });
    expect(await p.revokeVaultKey('vk_done', { hard: false })).toMatchObject({ status: 'already-revoked' });
    expect(srv.requests[0]).toMatchObject({ method: 'POST', url: '/keys/vk_1/disable' });
    expect(srv.requests[0]!.headers.authorization).toBe('Bearer tok-0123456789abcdef');
    expect(p.describe('revoke', { id: 'vk_1' })).toBe(`POST ${srv.url}/keys/vk_1/disable`);
  });

  it('shell: the id and the token travel in the environment, never on argv; probe exit 0 means refused', async () => {
    const dir = isolatedEnv().HOME!;
    const log = join(dir, 'calls.log');
    const p = createCommandProxy({
      adminToken: 'tok-0123456789abcdef',
      actions: {
        revoke: { shell: `echo "revoke $VAULT_KEY_ID $TOURNIQUET_ADMIN_TOKEN" >> ${log}` },
        // -s: before the first revoke there is no log yet; that is "not refused", not an error to print
        probe: { shell: `grep -qs "revoke $VAULT_KEY_ID" ${log}` },
      },
    });
    const [inst] = await p.instances();
    expect(await p.probeVaultKey('vk_7', inst!)).toMatchObject({ refused: false });
    expect(await p.revokeVaultKey('vk_7', { hard: false })).toMatchObject({ status: 'revoked' });
    expect(await p.probeVaultKey('vk_7', inst!)).toMatchObject({ refused: true });
    expect(readFileSync(log, 'utf8')).toBe('revoke vk_7 tok-0123456789abcdef\n');
    expect(p.describe('revoke', { id: 'vk_7' })).not.toContain('tok-0123456789abcdef');
  });

  it('refuses ids that could escape into a command', async () => {
    const dir = isolatedEnv().HOME!;
    const p = createCommandProxy({ actions: { revoke: { shell: `touch ${join(dir, 'ran')}` } } });
    await expect(p.revokeVaultKey('vk_1; rm -rf /', { hard: false })).rejects.toThrow(/not a vault key id/);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });
});

describe('revoke exit codes through the command adapter (flat `config set` keys)', () => {
  it('exit 5 when the proxy still serves the key after the revoke', async () => {
    const env = isolatedEnv();
    for (const [k, v] of [
      ['proxy_kind', 'command'],
      ['proxy.commands.revoke.shell', 'true'],
      ['proxy.commands.probe.shell', 'false'],
    ])
      expect((await runInProcess(['config', 'set', k!, v!], { env })).code).toBe(0);
    const r = await runInProcess(['revoke', 'vk_stuck', '--yes', '--json', '--verify-timeout', '200'], { env });
    expect(r.code).toBe(5);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      verified: false,
      results: [{ vault_key_id: 'vk_stuck', status: 'revoked', instances: [{ refused: false }] }],
    });
    const timeline = await runInProcess(['timeline', out.incident_id], { env });
    expect(timeline.stdout).toContain('NOT verified');
  });

  it('exit 1 when the revoke itself fails; nothing is claimed', async () => {
    const env = isolatedEnv();
    for (const [k, v] of [
      ['proxy_kind', 'command'],
      ['proxy.commands.revoke.shell', 'exit 7'],
    ])
      await runInProcess(['config', 'set', k!, v!], { env });
    const r = await runInProcess(['revoke', 'vk_x', '--yes', '--json'], { env });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: false, status: 'failed' });
  });
});
