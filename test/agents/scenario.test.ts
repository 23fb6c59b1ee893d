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
    headers: { authorization: `Basic ${Buffer.from(`${a.client_id}:${a.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('OAuth agent must stop (seed 003)', () => {
  it('Given a live token, When the agent is deactivated, Then introspection says active:false and no new token is issued', async () => {
    const agent = fake.addAgent('invoice-bot');
    const token = await tokenFor(agent);
    const env = isolatedEnv({ TOURNIQUET_AGENTS_API_URL: fake.url, TOURNIQUET_AGENTS_API_KEY: ADMIN, TOURNIQUET_OAUTH_ISSUER: fake.url, TOURNIQUET_OAUTH_CLIENT_ID: agent.client_id, TOURNIQUET_OAUTH_CLIENT_SECRET: agent.client_secret });
    expect((await runInProcess(['oauth', 'introspect', '--expect-inactive'], { env, stdin: token })).code).toBe(5);
    const stop = await runInProcess(['agent', 'deactivate', agent.id, '--yes', '--json'], { env });
    expect(stop.code).toBe(0);
    const proof = await runInProcess(['oauth', 'introspect', '--expect-inactive', '--json'], { env, stdin: token });
    expect(proof.code).toBe(0);
    expect(JSON.parse(proof.stdout)).toEqual({ active: false });
    const again = await fetch(`${fake.url}/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${agent.client_id}:${agent.client_secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(again.status).toBe(400);
  });
});

describe("agent's DPoP key compromised (seed 003)", () => {
  it('tokens bound to the old key die; tokens issued after the rotation carry the new key', async () => {
    const oldKey = validatePublicJwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }));
    const agent = fake.addAgent('dpop-bot', jwkThumbprint(oldKey));
    const oldToken = await tokenFor(agent);
    const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const file = join(mkdtempSync(join(tmpdir(), 'tq-dpop-')), 'new.jwk');
    writeFileSync(file, JSON.stringify(newKey));
    const env = isolatedEnv({ TOURNIQUET_AGENTS_API_URL: fake.url, TOURNIQUET_AGENTS_API_KEY: ADMIN, TOURNIQUET_OAUTH_ISSUER: fake.url, TOURNIQUET_OAUTH_CLIENT_ID: agent.client_id, TOURNIQUET_OAUTH_CLIENT_SECRET: agent.client_secret });
    const rot = await runInProcess(['agent', 'rotate-dpop-key', agent.id, '--jwk-file', file, '--reason', 'key on a stolen laptop', '--yes', '--json'], { env });
    expect(rot.code).toBe(0);
    expect(JSON.parse(rot.stdout)).toMatchObject({ revoked_token_count: 1, old_jkt: jwkThumbprint(oldKey), verified: true });
    expect((await runInProcess(['oauth', 'introspect', '--expect-inactive'], { env, stdin: oldToken })).code).toBe(0);
    const fresh = await runInProcess(['oauth', 'introspect', '--json'], { env, stdin: await tokenFor(agent) });
    expect(JSON.parse(fresh.stdout)).toMatchObject({ active: true, cnf: { jkt: jwkThumbprint(validatePublicJwk(newKey)) } });
  });
});
