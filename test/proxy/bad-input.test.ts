import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startHarness, through, adminCall, type Harness } from './helpers.js';

/** A vendor that misbehaves: resets the connection, or never answers. */
async function badVendor(): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/reset')) req.socket.destroy();
    else if (req.url?.startsWith('/big'))
      res.end(Buffer.alloc(3 << 20, 97)); // 3 MiB of 'a'
    else if (req.url?.startsWith('/empty')) {
      res.statusCode = 204;
      res.end();
    } else if (req.url?.startsWith('/hang'))
      return; // never answers
    else res.end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, hits: () => hits };
}

describe('bad input keeps the proxy serving, with a clear JSON error', () => {
  let h: Harness;
  let bad: Awaited<ReturnType<typeof badVendor>>;
  beforeAll(async () => {
    bad = await badVendor();
    h = await startHarness({ proxy: { maxBodyBytes: 4096, timeouts: { headersMs: 300 } } });
    // The generic vendor points at the misbehaving server, through the admin API.
  });
  afterAll(async () => {
    await h.stop();
    bad.server.closeAllConnections();
    bad.server.close();
  });

  it('admin: malformed JSON, unknown field, wrong type, unknown vendor → 400 naming the field', async () => {
    const malformed = await h.admin('POST', '/v1/vault-keys', '{"vendor": "stripe",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error).toMatchObject({ code: 'invalid_json', field: 'body' });
    const unknown = await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', daily_cap: 5 });
    expect(unknown.body.error).toMatchObject({ code: 'invalid_request', field: 'daily_cap' });
    const wrongType = await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', calls_per_minute: 'ten' });
    expect([wrongType.status, wrongType.body.error.field]).toEqual([400, 'calls_per_minute']);
    const vendor = await h.admin('POST', '/v1/vault-keys', { vendor: 'paypal' });
    expect([vendor.status, vendor.body.error.field]).toEqual([400, 'vendor']);
    const endpoints = await h.admin('POST', '/v1/vault-keys', {
      vendor: 'stripe',
      allowed_endpoints: ['refunds please'],
    });
    expect(endpoints.body.error.field).toBe('allowed_endpoints');
    const expiry = await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', expires_in: 'soon' });
    expect(expiry.body.error.field).toBe('expires_in');
    const query = await h.admin('GET', '/v1/audit?limit=lots');
    expect([query.status, query.body.error.field]).toEqual([400, 'limit']);
    const unknownQuery = await h.admin('GET', '/v1/vault-keys?vendr=stripe');
    expect(unknownQuery.body.error.field).toBe('vendr');
  });

  it('admin: an expires_in past 10 years (seconds or text) → 400 naming the field, not a 500', async () => {
    for (const expires_in of [1e15, '99999999999d', 3650 * 86400 + 1]) {
      const r = await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', expires_in });
      expect([expires_in, r.status, r.body.error.code, r.body.error.field]).toEqual([
        expires_in,
        400,
        'invalid_request',
        'expires_in',
      ]);
      expect(r.body.error.message).toContain('10 years');
    }
    expect((await h.admin('POST', '/v1/vault-keys', { vendor: 'stripe', expires_in: '3650d' })).status).toBe(201);
  });

  it('admin: a field named like an Object.prototype member is unknown too → 400 naming it', async () => {
    for (const field of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      const r = await h.admin('POST', '/v1/vault-keys', `{"vendor": "stripe", "${field}": {"x": 1}}`);
      expect([field, r.status, r.body.error.code, r.body.error.field]).toEqual([field, 400, 'invalid_request', field]);
    }
    const query = await h.admin('GET', '/v1/vault-keys?constructor=1');
    expect([query.status, query.body.error.field]).toEqual([400, 'constructor']);
  });

  it('admin: no token, wrong token, a vault key as token → 401; unknown id → 404; oversized → 413', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    expect((await adminCall(h.proxy.adminUrl, 'GET', '/v1/health', undefined, 'wrong-token')).status).toBe(401);
    const asVault = await adminCall(h.proxy.adminUrl, 'GET', '/v1/health', undefined, vk.secret);
    expect(asVault.status).toBe(401);
    expect(asVault.body.error.message).toContain('vault key never works');
    const nf = await h.admin('GET', '/v1/vault-keys/vk_id_nope');
    expect([nf.status, nf.body.error.code]).toEqual([404, 'not_found']);
    expect((await h.admin('DELETE', '/v1/vault-keys/vk_id_nope')).status).toBe(404);
    const big = await h.admin(
      'POST',
      '/v1/vault-keys',
      JSON.stringify({ vendor: 'stripe', agent_run_id: 'x'.repeat(100_000) }),
    );
    expect(big.status).toBe(413);
  });

  it('data plane: an oversized body → 413 request_too_large, not forwarded', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const before = h.sandbox.stripe.keys.stats().reduce((s, k) => s + k.calls, 0);
    const r = await through(h.proxy.dataUrl, 'POST', '/v1/customers', vk.secret, 'description=' + 'x'.repeat(10_000));
    expect([r.status, r.json.error.code]).toEqual([413, 'request_too_large']);
    expect(h.sandbox.stripe.keys.stats().reduce((s, k) => s + k.calls, 0)).toBe(before);
  });

  it('data plane: upstream reset → 502 upstream_unreachable; upstream hang → 504 upstream_timeout; still serving', async () => {
    const { startProxy } = await import('../../src/proxy/index.js');
    const p = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: 'sqlite::memory:',
      adminToken: 'admin-token-for-tests-0123456789',
      upstreams: { generic: bad.url },
      upstreamKeys: [{ vendor: 'generic', secret: 'generic_secret_value_123', state: 'active' }],
      timeouts: { headersMs: 300 },
      log: false,
    });
    try {
      const vk = (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'generic' })).body;
      const reset = await through(p.dataUrl, 'GET', '/reset', vk.secret);
      expect([reset.status, reset.json.error.code]).toEqual([502, 'upstream_unreachable']);
      const hang = await through(p.dataUrl, 'GET', '/hang', vk.secret);
      expect([hang.status, hang.json.error.code]).toEqual([504, 'upstream_timeout']);
      const fine = await through(p.dataUrl, 'GET', '/fine', vk.secret);
      expect(fine.status).toBe(200);
      const big = await through(p.dataUrl, 'GET', '/big', vk.secret);
      expect([big.status, big.text.length, big.text.slice(-3)]).toEqual([200, 3 << 20, 'aaa']);
      const empty = await through(p.dataUrl, 'DELETE', '/empty', vk.secret);
      expect([empty.status, empty.text]).toEqual([204, '']);
      const rows = (await adminCall(p.adminUrl, 'GET', `/v1/audit?vault_key_id=${vk.id}`)).body.data;
      expect(rows.map((r: any) => r.vendor_status)).toEqual([0, 0, 200, 200, 204]);
    } finally {
      await p.stop();
    }
  });

  it('after all that, health is ok', async () => {
    const health = await h.admin('GET', '/v1/health');
    expect(health.body).toMatchObject({
      status: 'ok',
      instance_id: h.proxy.instanceId,
      data_plane_url: h.proxy.dataUrl,
    });
    const inst = await h.admin('GET', '/v1/instances');
    expect(inst.body.data[0].instance_id).toBe(h.proxy.instanceId);
  });
});
