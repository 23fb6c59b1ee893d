import { afterEach, describe, expect, it } from 'vitest';
import { startFakeServer, type FakeServer, type Reply, type Route } from '../../src/sandbox/agent-platforms/server.js';
import { OAuthClient } from '../../src/adapters/oauth/client.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';

/** Authorization servers that misbehave in the ways RFC 7009 / 7662 allow or real ones do. */
let fake: FakeServer | undefined;
afterEach(async () => {
  if (fake) expect(fake.unexpected).toEqual([]);
  await fake?.close();
  fake = undefined;
});

async function as(revoke: () => Reply, introspect: () => Reply): Promise<OAuthClient> {
  const routes: Route[] = [
    { method: 'POST', pattern: /^\/revoke$/, handle: revoke },
    { method: 'POST', pattern: /^\/introspect$/, handle: introspect },
  ];
  fake = await startFakeServer(routes);
  return new OAuthClient({
    revocationEndpoint: `${fake.url}/revoke`,
    introspectionEndpoint: `${fake.url}/introspect`,
    clientId: 'c',
    clientSecret: 'client_secret_value_123',
  });
}

describe('OAuth edge cases', () => {
  it('a server that says 200 but keeps the token active: verified false', async () => {
    const c = await as(
      () => ({ status: 200 }),
      () => ({ status: 200, json: { active: true } }),
    );
    expect(await c.revoke('tok_live_abcdefghijkl')).toMatchObject({ verified: false, introspection: { active: true } });
  });

  it('503 with Retry-After on revoke is retried (revocation is idempotent)', async () => {
    let calls = 0;
    const c = await as(
      () =>
        ++calls === 1
          ? { status: 503, json: { error: 'temporarily_unavailable' }, headers: { 'retry-after': '0' } }
          : { status: 200 },
      () => ({ status: 200, json: { active: false } }),
    );
    expect((await c.revoke('tok_live_abcdefghijkl')).verified).toBe(true);
    expect(calls).toBe(2);
  });

  it('unsupported_token_type is a failed step (exit 1) with what to do next', async () => {
    const c = await as(
      () => ({ status: 400, json: { error: 'unsupported_token_type' } }),
      () => ({ status: 200, json: { active: true } }),
    );
    const err = await c.revoke('tok_live_abcdefghijkl', 'refresh_token').catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.hint).toMatch(/deactivate the client/);
  });

  it('an introspection answer without a boolean "active" is a clear error, not a pass', async () => {
    const c = await as(
      () => ({ status: 200 }),
      () => ({ status: 200, json: { status: 'revoked' } }),
    );
    const err = await c.revoke('tok_live_abcdefghijkl').catch((e) => e);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/RFC 7662/);
  });

  it('sends the token in the form body with client_secret_basic (id and secret form-encoded)', async () => {
    const routes: Route[] = [
      { method: 'POST', pattern: /^\/introspect$/, handle: () => ({ status: 200, json: { active: false } }) },
    ];
    fake = await startFakeServer(routes);
    const real = new OAuthClient({
      introspectionEndpoint: `${fake.url}/introspect`,
      clientId: 'a b:c',
      clientSecret: 's%cret',
    });
    await real.introspect('tok_live_abcdefghijkl', 'access_token');
    const req = fake.requests[0]!;
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('a+b%3Ac:s%25cret').toString('base64')}`);
    expect(new URLSearchParams(req.body).get('token')).toBe('tok_live_abcdefghijkl');
    expect(new URLSearchParams(req.body).get('token_type_hint')).toBe('access_token');
  });

  it('the CLI exits 5 when introspection still says active after the revoke', async () => {
    await as(
      () => ({ status: 200 }),
      () => ({ status: 200, json: { active: true } }),
    );
    const env = isolatedEnv({
      TOURNIQUET_OAUTH_CLIENT_ID: 'c',
      TOURNIQUET_OAUTH_CLIENT_SECRET: 'client_secret_value_123',
    });
    const r = await runInProcess(
      [
        'oauth',
        'revoke',
        '--revocation-endpoint',
        `${fake!.url}/revoke`,
        '--introspection-endpoint',
        `${fake!.url}/introspect`,
        '--yes',
        '--json',
      ],
      { env, stdin: 'tok_live_abcdefghijkl' },
    );
    expect(r.code).toBe(5);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: false });
    expect(r.stdout + r.stderr).not.toContain('tok_live_abcdefghijkl');
  });

  it('without an introspection endpoint the revoke is reported unverified (exit 5), saying why', async () => {
    const routes: Route[] = [{ method: 'POST', pattern: /^\/revoke$/, handle: () => ({ status: 200 }) }];
    fake = await startFakeServer(routes);
    const env = isolatedEnv({
      TOURNIQUET_OAUTH_CLIENT_ID: 'c',
      TOURNIQUET_OAUTH_CLIENT_SECRET: 'client_secret_value_123',
    });
    const r = await runInProcess(['oauth', 'revoke', '--revocation-endpoint', `${fake.url}/revoke`, '--yes'], {
      env,
      stdin: 'tok_live_abcdefghijkl',
    });
    expect(r.code).toBe(5);
    expect(r.stdout).toContain('no introspection endpoint');
  });
});
