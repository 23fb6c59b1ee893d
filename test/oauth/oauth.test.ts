import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuthClient } from '../../src/adapters/oauth/client.js';
import { isolatedEnv, runInProcess, type CliResult } from '../helpers/cli.js';
import { startRealAs, type RealAs } from './provider.js';

let as: RealAs;
beforeAll(async () => {
  as = await startRealAs();
});
afterAll(async () => as.close());

const noLeak = (r: CliResult, secrets: string[]) => {
  for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
};

describe('OAuth client against a real oidc-provider', () => {
  it('discovers the endpoints, introspects a live token, revokes it, and verifies active:false', async () => {
    const client = new OAuthClient({ issuer: as.issuer, clientId: as.clientId, clientSecret: as.clientSecret });
    const token = await as.issueToken();
    expect((await client.introspect(token)).active).toBe(true);
    const r = await client.revoke(token, 'access_token');
    expect(r).toMatchObject({ status: 'revoked', verified: true, introspection: { active: false } });
    // Revoking again is not an error (RFC 7009 §2.2).
    expect((await client.revoke(token)).verified).toBe(true);
  });

  it('a wrong client secret is exit 3', async () => {
    const client = new OAuthClient({
      issuer: as.issuer,
      clientId: as.clientId,
      clientSecret: 'cs_wrong_wrong_wrong_wrong',
    });
    const err = await client.introspect('whatever').catch((e) => e);
    expect(err.exitCode).toBe(3);
  });
});

describe('tourniquet oauth … (whole CLI, real authorization server)', () => {
  const env = () =>
    isolatedEnv({
      TOURNIQUET_OAUTH_ISSUER: as.issuer,
      TOURNIQUET_OAUTH_CLIENT_ID: as.clientId,
      TOURNIQUET_OAUTH_CLIENT_SECRET: as.clientSecret,
    });

  it('revoke (token on stdin) → verified, exit 0; introspect --expect-inactive then passes; no secret printed', async () => {
    const token = await as.issueToken();
    const e = env();
    const before = await runInProcess(['oauth', 'introspect', '--json'], { env: e, stdin: token + '\n' });
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ active: true, client_id: as.clientId });
    const r = await runInProcess(['oauth', 'revoke', '--yes', '--json'], { env: e, stdin: token });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'revoked', verified: true, introspection: { active: false } });
    const after = await runInProcess(['oauth', 'introspect', '--expect-inactive'], { env: e, stdin: token });
    expect(after.code).toBe(0);
    for (const x of [before, r, after]) noLeak(x, [token, as.clientSecret]);
  });

  it('takes the token from --token-file; introspect --expect-inactive on a live token is exit 5', async () => {
    const token = await as.issueToken();
    const file = join(mkdtempSync(join(tmpdir(), 'tq-tok-')), 'token');
    writeFileSync(file, token);
    const r = await runInProcess(['oauth', 'introspect', '--token-file', file, '--expect-inactive'], { env: env() });
    expect(r.code).toBe(5);
    noLeak(r, [token, as.clientSecret]);
  });

  it('revoke without --yes and no terminal is exit 2 naming --yes, and the token stays active', async () => {
    const token = await as.issueToken();
    const r = await runInProcess(['oauth', 'revoke'], { env: env(), stdin: token });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--yes');
    const client = new OAuthClient({ issuer: as.issuer, clientId: as.clientId, clientSecret: as.clientSecret });
    expect((await client.introspect(token)).active).toBe(true);
  });

  it('--dry-run lists the calls and makes none', async () => {
    const seen = as.requests.length;
    const r = await runInProcess(
      [
        'oauth',
        'revoke',
        '--dry-run',
        '--revocation-endpoint',
        `${as.issuer}/token/revocation`,
        '--introspection-endpoint',
        `${as.issuer}/token/introspection`,
      ],
      { env: env() },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`POST ${as.issuer}/token/revocation`);
    expect(r.stdout).toContain(`POST ${as.issuer}/token/introspection`);
    expect(as.requests.length).toBe(seen);
  });

  it('--debug traces the HTTP calls without the token, the client secret or the Basic header', async () => {
    const token = await as.issueToken();
    const basic = Buffer.from(`${as.clientId}:${as.clientSecret}`).toString('base64');
    for (const args of [
      ['oauth', 'revoke', '--yes', '--debug'],
      ['oauth', 'introspect', '--debug', '--json'],
    ]) {
      const r = await runInProcess(args, { env: env(), stdin: token });
      expect(r.stderr).toContain('debug:');
      noLeak(r, [token, as.clientSecret, basic]);
    }
  });

  it('no token anywhere (empty stdin) is exit 2 naming --token-file', async () => {
    const r = await runInProcess(['oauth', 'introspect'], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--token-file');
  });
});
