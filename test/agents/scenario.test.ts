import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { startAgentsApiFake, type AgentsApiFake } from '../../src/sandbox/agent-platforms/index.js';
import { jwkThumbprint, validatePublicJwk } from '../../src/core/jwk.js';

/** The seed 003 scenarios end to end, as an operator would run them: act with `agent`, prove with `oauth`. */
const ADMIN = 'sk_live_admin_scenario_0123456789';
let fake: AgentsApiFake;
beforeEach(async () => {
  fake = await startAgentsApiFake({ adminKey: ADMIN });
});
afterEach(async () => {
  expect(fake.unexpected).toEqual([]);
  await fake.close();
});

async function tokenFor(a: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${fake.url}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${a.client_id}:${a.client_secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('OAuth agent must stop (seed 003)', () => {
  it('Given a live token, When the agent is deactivated, Then introspection says active:false and no new token is issued', async () => {
    const agent = fake.addAgent('invoice-bot');
    const token = await tokenFor(agent);
    const env = isolatedEnv({
      TOURNIQUET_AGENTS_API_URL: fake.url,
      TOURNIQUET_AGENTS_API_KEY: ADMIN,
      TOURNIQUET_OAUTH_ISSUER: fake.url,
      TOURNIQUET_OAUTH_CLIENT_ID: agent.client_id,
      TOURNIQUET_OAUTH_CLIENT_SECRET: agent.client_secret,
    });
    expect((await runInProcess(['oauth', 'introspect', '--expect-inactive'], { env, stdin: token })).code).toBe(5);
    const stop = await runInProcess(['agent', 'deactivate', agent.id, '--yes', '--json'], { env });
    expect(stop.code).toBe(0);
    const proof = await runInProcess(['oauth', 'introspect', '--expect-inactive', '--json'], { env, stdin: token });
    expect(proof.code).toBe(0);
    expect(JSON.parse(proof.stdout)).toEqual({ active: false });
    const again = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${agent.client_id}:${agent.client_secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    expect(again.status).toBe(400);
  });
});

describe('agent deactivate --verify-token-file: one command stops the agent and proves its token dead', () => {
  const setup = async () => {
    const agent = fake.addAgent('invoice-bot');
    const rs = fake.addAgent('resource-server'); // whose credentials introspect
    const file = join(mkdtempSync(join(tmpdir(), 'tq-tok-')), 'token');
    const token = await tokenFor(agent);
    writeFileSync(file, token);
    const env = isolatedEnv({
      TOURNIQUET_AGENTS_API_URL: fake.url,
      TOURNIQUET_AGENTS_API_KEY: ADMIN,
      TOURNIQUET_OAUTH_CLIENT_ID: rs.client_id,
      TOURNIQUET_OAUTH_CLIENT_SECRET: rs.client_secret,
    });
    return { agent, rs, file, token, env };
  };

  it('verified when the token introspects inactive (issuer defaults to the Agents API)', async () => {
    const { agent, rs, file, token, env } = await setup();
    const r = await runInProcess(['agent', 'deactivate', agent.id, '--verify-token-file', file, '--yes', '--json'], {
      env,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'deactivated', verified: true, token_active: false });
    expect(r.stdout + r.stderr).not.toContain(token);
    expect(r.stdout + r.stderr).not.toContain(rs.client_secret);
  });

  it('exit 5 when the platform leaves the agent and its token alive', async () => {
    const { agent, file, env } = await setup();
    fake.faults.ignoreDeactivate = true;
    const r = await runInProcess(['agent', 'deactivate', agent.id, '--verify-token-file', file, '--yes', '--json'], {
      env,
    });
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: false, token_active: true });
  });

  it('--dry-run lists the introspection too, and calls nothing', async () => {
    const { agent, file, env } = await setup();
    const before = fake.requests.length;
    const r = await runInProcess(['agent', 'deactivate', agent.id, '--verify-token-file', file, '--dry-run'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`PATCH ${fake.url}/api/v1/agents/${agent.id}`);
    expect(r.stdout).toMatch(/POST .*introspection_endpoint|POST .*\/oauth\/introspect/);
    expect(fake.requests.length).toBe(before);
  });
});

describe("agent's DPoP key compromised (seed 003)", () => {
  it('tokens bound to the old key die; tokens issued after the rotation carry the new key', async () => {
    const oldKey = validatePublicJwk(
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
    );
    const agent = fake.addAgent('dpop-bot', jwkThumbprint(oldKey));
    const oldToken = await tokenFor(agent);
    const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const file = join(mkdtempSync(join(tmpdir(), 'tq-dpop-')), 'new.jwk');
    writeFileSync(file, JSON.stringify(newKey));
    const env = isolatedEnv({
      TOURNIQUET_AGENTS_API_URL: fake.url,
      TOURNIQUET_AGENTS_API_KEY: ADMIN,
      TOURNIQUET_OAUTH_ISSUER: fake.url,
      TOURNIQUET_OAUTH_CLIENT_ID: agent.client_id,
      TOURNIQUET_OAUTH_CLIENT_SECRET: agent.client_secret,
    });
    const rot = await runInProcess(
      [
        'agent',
        'rotate-dpop-key',
        agent.id,
        '--jwk-file',
        file,
        '--reason',
        'key on a stolen laptop',
        '--yes',
        '--json',
      ],
      { env },
    );
    expect(rot.code).toBe(0);
    expect(JSON.parse(rot.stdout)).toMatchObject({
      revoked_token_count: 1,
      old_jkt: jwkThumbprint(oldKey),
      verified: true,
    });
    expect((await runInProcess(['oauth', 'introspect', '--expect-inactive'], { env, stdin: oldToken })).code).toBe(0);
    const fresh = await runInProcess(['oauth', 'introspect', '--json'], { env, stdin: await tokenFor(agent) });
    expect(JSON.parse(fresh.stdout)).toMatchObject({
      active: true,
      cnf: { jkt: jwkThumbprint(validatePublicJwk(newKey)) },
    });
  });
});

describe('startAgentPlatforms (for the sandbox and the demo)', () => {
  it('starts both fakes and the env that points the CLI at them', async () => {
    const { startAgentPlatforms } = await import('../../src/sandbox/agent-platforms/index.js');
    const p = await startAgentPlatforms();
    try {
      const a = p.accounts.addAgent('demo');
      const r = await runInProcess(['agent', 'disable', a.id, '--yes', '--json'], { env: isolatedEnv(p.env) });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(p.adminKey);
    } finally {
      await p.stop();
    }
  });
});
