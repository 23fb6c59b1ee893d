import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';

const TOKEN = 'admin-token-instances-0123456789';

/**
 * A loopback admin API with three instances: "a" refuses at once, "b" only after a sync lag,
 * "c" (a separate server) we can switch between unreachable and refusing.
 */
describe('revoke verification across several proxy instances', () => {
  let srv: TestServer;
  let revokedAt = 0;
  let lagMs = 150;
  let cUrl = 'http://127.0.0.1:1';
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  beforeAll(async () => {
    srv = await startServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: { code: 'unauthorized' } });
      if (req.method === 'DELETE' && req.url.startsWith('/v1/vault-keys/vk_multi')) {
        revokedAt = Date.now();
        return send(res, 200, {
          id: 'vk_multi',
          status: 'revoked',
          effective_at: new Date().toISOString(),
          already_revoked: false,
          durable: true,
        });
      }
      if (req.url === '/v1/instances')
        return send(res, 200, {
          data: [
            { instance_id: 'a', data_plane_url: 'http://a', admin_url: srv.url },
            { instance_id: 'b', data_plane_url: 'http://b', admin_url: `${srv.url}/b` },
            { instance_id: 'c', data_plane_url: 'http://c', admin_url: cUrl },
          ],
        });
      const verdict = (instance_id: string, refused: boolean) => ({
        instance_id,
        vault_key_id: 'vk_multi',
        refused,
        verdict: refused ? 'vault_key_revoked' : 'allowed',
        revision: 1,
      });
      if (req.url === '/v1/vault-keys/vk_multi/verdict') return send(res, 200, verdict('a', true));
      if (req.url === '/b/v1/vault-keys/vk_multi/verdict')
        return send(res, 200, verdict('b', Date.now() - revokedAt >= lagMs));
      if (req.url === '/c/v1/vault-keys/vk_multi/verdict') return send(res, 200, verdict('c', true));
      res.statusCode = 599;
      res.end(`unexpected ${req.method} ${req.url}`);
    });
  });
  afterAll(async () => srv.close());

  // Instance c's port is not proxy_url's: it is trusted only through trusted_instances.
  const env = () =>
    isolatedEnv({
      TOURNIQUET_PROXY_URL: srv.url,
      TOURNIQUET_ADMIN_TOKEN: TOKEN,
      TOURNIQUET_TRUSTED_INSTANCES: 'http://127.0.0.1:*',
    });

  it('reports per instance how long until it refused; waits for a lagging instance', async () => {
    cUrl = `${srv.url}/c`;
    lagMs = 150;
    const r = await runInProcess(['revoke', 'vk_multi', '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    const inst = JSON.parse(r.stdout).results[0].instances;
    expect(inst.map((i: any) => [i.instance_id, i.refused])).toEqual([
      ['a', true],
      ['b', true],
      ['c', true],
    ]);
    expect(inst.find((i: any) => i.instance_id === 'b').ms).toBeGreaterThanOrEqual(100);
    expect(inst.find((i: any) => i.instance_id === 'a').ms).toBeLessThan(
      inst.find((i: any) => i.instance_id === 'b').ms,
    );
  });

  it('exit 5 when an instance still serves the key, or cannot be asked, by the deadline', async () => {
    cUrl = 'http://127.0.0.1:1';
    lagMs = 60_000;
    const r = await runInProcess(['revoke', 'vk_multi', '--yes', '--json', '--verify-timeout', '300'], { env: env() });
    expect(r.code).toBe(5);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    const byId = Object.fromEntries(out.results[0].instances.map((i: any) => [i.instance_id, i]));
    expect(byId.a.refused).toBe(true);
    expect(byId.b).toMatchObject({ refused: false, code: 'allowed' });
    expect(byId.c.refused).toBe(false);
    expect(byId.c.code).toMatch(/^unreachable/);
    expect(r.stderr).toContain('not proven refused');
  });
});

/**
 * Instances behind one admin address (`proxy serve --workers`, a load balancer): the instance that
 * answers `GET /v1/instances` through proxy_url may not be the one a second connection reaches.
 */
describe('revoke verification when proxy_url is shared by several instances', () => {
  let srv: TestServer;
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const verdict = (instance_id: string) => ({
    instance_id,
    vault_key_id: 'vk_shared',
    refused: true,
    verdict: 'vault_key_revoked',
    revision: 1,
  });
  beforeAll(async () => {
    srv = await startServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: { code: 'unauthorized' } });
      if (req.method === 'DELETE' && req.url.startsWith('/v1/vault-keys/vk_shared'))
        return send(res, 200, {
          id: 'vk_shared',
          status: 'revoked',
          effective_at: new Date().toISOString(),
          already_revoked: false,
          durable: true,
        });
      // Listed by instance a, each at an admin URL of its own
      if (req.url === '/v1/instances')
        return send(res, 200, {
          data: [
            { instance_id: 'a', data_plane_url: 'http://a', admin_url: `${srv.url}/a` },
            { instance_id: 'b', data_plane_url: 'http://b', admin_url: `${srv.url}/b` },
          ],
        });
      // The shared address now reaches b, whatever is asked
      if (req.url === '/v1/vault-keys/vk_shared/verdict') return send(res, 200, verdict('b'));
      if (req.url === '/a/v1/vault-keys/vk_shared/verdict') return send(res, 200, verdict('a'));
      if (req.url === '/b/v1/vault-keys/vk_shared/verdict') return send(res, 200, verdict('b'));
      res.statusCode = 599;
      res.end(`unexpected ${req.method} ${req.url}`);
    });
  });
  afterAll(async () => srv.close());

  it('asks the answering instance at its own admin URL (trusted), so its verdict is its own', async () => {
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: srv.url, TOURNIQUET_ADMIN_TOKEN: TOKEN });
    const r = await runInProcess(['revoke', 'vk_shared', '--yes', '--json', '--verify-timeout', '500'], { env });
    expect(r.code, r.stdout).toBe(0);
    const inst = JSON.parse(r.stdout).results[0].instances;
    expect(inst.map((i: any) => [i.instance_id, i.refused])).toEqual([
      ['a', true],
      ['b', true],
    ]);
  });
});
