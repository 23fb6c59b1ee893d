import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { startAccountsFake, type AccountsFake } from '../../src/sandbox/agent-platforms/accounts.js';
import { startAgentsApiFake, type AgentsApiFake } from '../../src/sandbox/agent-platforms/agents-api.js';
import { jwkThumbprint, validatePublicJwk } from '../../src/core/jwk.js';

/**
 * Every agent subcommand, in each output mode (human, --json, --debug, --dry-run), and the
 * admin key, the agents' own keys and client secrets never appear whole in stdout or stderr.
 */
const ADMIN = 'sk_live_admin_leakcheck_9f8e7d6c5b4a';
let accounts: AccountsFake;
let api: AgentsApiFake;
let dir: string;
beforeAll(async () => {
  accounts = await startAccountsFake({ adminKey: ADMIN });
  api = await startAgentsApiFake({ adminKey: ADMIN });
  dir = mkdtempSync(join(tmpdir(), 'tq-leak-'));
});
afterAll(async () => {
  await accounts.close();
  await api.close();
});

const env = () =>
  isolatedEnv({
    TOURNIQUET_AGENT_ACCOUNTS_URL: accounts.baseUrl,
    TOURNIQUET_AGENT_ACCOUNTS_KEY: ADMIN,
    TOURNIQUET_AGENTS_API_URL: api.url,
    TOURNIQUET_AGENTS_API_KEY: ADMIN,
  });

describe('no secret in any output of `tourniquet agent …`', () => {
  const modes = [[], ['--json'], ['--debug'], ['--dry-run'], ['--dry-run', '--json']];
  for (const mode of modes)
    it(`mode ${mode.join(' ') || '(human)'}`, async () => {
      const a = accounts.addAgent('leaky');
      const o = api.addAgent('oauthy');
      const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwkPath = join(dir, `k-${Math.random()}.jwk`);
      writeFileSync(jwkPath, JSON.stringify(jwk.publicKey.export({ format: 'jwk' })));
      const runs = [
        ['agent', 'disable', a.id, '--yes'],
        ['agent', 'archive', a.id, '--yes'],
        ['agent', 'create', 'replacement', '--budget', '5', '--out', join(dir, `out-${Math.random()}`), '--yes'],
        ['agent', 'delete', a.id, '--yes'],
        ['agent', 'deactivate', o.id, '--yes'],
        ['agent', 'rotate-dpop-key', o.id, '--jwk-file', jwkPath, '--yes'],
        ['agent', 'disable', 'agt_unknown', '--yes'],
      ];
      const secrets = () => [
        ADMIN,
        a.api_key,
        o.client_secret,
        String(jwk.privateKey.export({ format: 'jwk' }).d),
        ...[...accounts.agents.values()].map((x) => x.api_key),
      ];
      const codes: number[] = [];
      for (const args of runs) {
        const r = await runInProcess([...args, ...mode], { env: env() });
        codes.push(r.code);
        for (const s of secrets()) {
          expect(r.stdout, `${args.join(' ')} ${mode.join(' ')}`).not.toContain(s);
          expect(r.stderr, `${args.join(' ')} ${mode.join(' ')}`).not.toContain(s);
        }
      }
      // Each run did what it says (0), the unknown agent is "does not exist" (4); a dry run calls nothing and exits 0.
      expect(codes, mode.join(' ')).toEqual(mode.includes('--dry-run') ? [0, 0, 0, 0, 0, 0, 0] : [0, 0, 0, 0, 0, 0, 4]);
    });
});

describe('--dry-run of rotate-dpop-key', () => {
  it('validates the JWK and shows its thumbprint, making no call', async () => {
    const o = api.addAgent('dpop');
    const pub = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const p = join(dir, 'dry.jwk');
    writeFileSync(p, JSON.stringify(pub));
    const before = api.requests.length;
    const r = await runInProcess(['agent', 'rotate-dpop-key', o.id, '--jwk-file', p, '--dry-run', '--json'], {
      env: env(),
    });
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan).toMatchObject({ dry_run: true, expected_jkt: jwkThumbprint(validatePublicJwk(pub)) });
    expect(plan.calls[0]).toMatchObject({ method: 'POST', url: `${api.url}/api/v1/agents/${o.id}/rotate-dpop-key` });
    expect(api.requests.length).toBe(before);
  });

  it('an invalid JWK is exit 2 even in --dry-run', async () => {
    const p = join(dir, 'bad.jwk');
    writeFileSync(p, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }));
    const r = await runInProcess(['agent', 'rotate-dpop-key', 'agent_x', '--jwk-file', p, '--dry-run'], { env: env() });
    expect(r.code).toBe(2);
  });
});
