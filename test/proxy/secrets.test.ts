import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import type { RunningProxy } from '../../src/proxy/index.js';
import { adminCall, proxyInFront, startHarness, through, type Harness } from './helpers.js';

/** A vendor that records everything it receives. */
async function recordingVendor() {
  const seen: Array<{ url: string; headers: IncomingHttpHeaders; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(401, { 'content-type': 'application/json', 'x-echo': String(req.headers['x-api-key'] ?? '') });
      res.end(JSON.stringify({ error: { message: `bad key ${String(req.headers['x-api-key'])}` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, seen, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('the production key never reaches the agent; the vault key never reaches the vendor', () => {
  let h: Harness;
  let rec: Awaited<ReturnType<typeof recordingVendor>>;
  const acmeSecret = 'acme_live_secret_0123456789abcdef';
  beforeAll(async () => {
    rec = await recordingVendor();
    h = await startHarness({
      sandbox: { echoKeysInErrors: true },
      proxy: { vendors: { acme: { baseUrl: rec.url, header: 'x-api-key', template: '{key}' } } },
    });
  });
  afterAll(async () => {
    await h.stop();
    rec.server.close();
  });

  it('a vendor echoing the production key in a body or header: the agent sees it redacted', async () => {
    await h.admin('POST', '/v1/upstream-keys', { vendor: 'acme', secret: acmeSecret, state: 'active' });
    const vk = await h.issue({ vendor: 'acme' });
    const r = await through(h.proxy.dataUrl, 'POST', '/anything?x=1', vk.secret, 'a=1', {
      'x-trace': `debug ${vk.secret}`,
      cookie: 'k=' + vk.secret,
    });
    expect(r.status).toBe(401);
    expect(r.text).not.toContain(acmeSecret);
    expect(r.text).toContain('[redacted by tourniquet]');
    expect(JSON.stringify([...r.headers])).not.toContain(acmeSecret);
    // What the vendor saw: the production key where the template says, and no trace of the vault key.
    const got = rec.seen.at(-1)!;
    expect(got.headers['x-api-key']).toBe(acmeSecret);
    expect(got.headers.authorization).toBeUndefined();
    expect(JSON.stringify(got)).not.toContain(vk.secret);
    expect(got.headers['accept-encoding']).toBe('identity');
  });

  it('a vault key in the URL or the body is refused (400 vault_key_in_payload), never forwarded', async () => {
    const vk = await h.issue({ vendor: 'acme' });
    const seen = rec.seen.length;
    const inQuery = await through(h.proxy.dataUrl, 'GET', `/x?api_key=${vk.secret}`, vk.secret);
    expect([inQuery.status, inQuery.json.error.code]).toEqual([400, 'vault_key_in_payload']);
    const inBody = await through(h.proxy.dataUrl, 'POST', '/x', vk.secret, `note=${vk.secret}`);
    expect([inBody.status, inBody.json.error.code]).toEqual([400, 'vault_key_in_payload']);
    expect(rec.seen.length).toBe(seen);
    expect(inBody.text).not.toContain(vk.secret);
  });

  it('a vault key in the path, as sent or percent-encoded, is refused and kept out of the audit and the log', async () => {
    const vk = await h.issue({ vendor: 'acme' });
    const encoded = [...(vk.secret as string)].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('');
    const seen = rec.seen.length;
    for (const url of [`/customers/${vk.secret}`, `/customers/${encoded}`, `/customers?email=${encoded}`]) {
      const r = await through(h.proxy.dataUrl, 'GET', url, vk.secret);
      expect([url, r.status, r.json.error.code]).toEqual([url, 400, 'vault_key_in_payload']);
      expect(r.text).not.toContain(vk.secret);
    }
    expect(rec.seen.length).toBe(seen);
    const rows = (await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}`)).body.data;
    expect(rows.map((r: { path: string }) => r.path)).toEqual(
      expect.arrayContaining(['/customers/[redacted by tourniquet]', '/customers']),
    );
    expect(rows.filter((r: { policy_verdict: string }) => r.policy_verdict === 'vault_key_in_payload')).toHaveLength(3);
    expect(JSON.stringify(rows)).not.toContain(vk.secret);
    expect(JSON.stringify(rows)).not.toContain(encoded);
    expect(h.logs.join('')).not.toContain(vk.secret);
    expect(h.logs.join('')).not.toContain(encoded);
  });

  it('a stale production key that the vendor echoes in its 401 (Stripe SDK error) is redacted', async () => {
    const stale = `sk_test_${'s'.repeat(60)}0000`;
    const added = await h.admin('POST', '/v1/upstream-keys', { vendor: 'stripe', secret: stale, state: 'active' });
    const vk = await h.issue({ vendor: 'stripe', upstream_key_id: added.body.id });
    const port = Number(new URL(h.proxy.dataUrl).port);
    const stripe = new Stripe(vk.secret, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const err = await stripe.customers.list().catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(JSON.stringify(err)).not.toContain(stale);
    expect(String((err as Error).message)).not.toContain(stale);
    expect(String((err as Error).message)).toContain('redacted');
  });

  it('logs and admin answers never hold a secret', async () => {
    const secrets = [
      acmeSecret,
      h.sandbox.keys.stripe.secret,
      h.sandbox.keys.openai.secret,
      h.sandbox.keys.twilio.secret,
    ];
    const vk = await h.issue({ vendor: 'stripe' });
    await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    const everything = [
      h.logs.join(''),
      JSON.stringify((await h.admin('GET', '/v1/upstream-keys')).body),
      JSON.stringify((await h.admin('GET', '/v1/vault-keys')).body),
      JSON.stringify((await h.admin('GET', '/v1/audit?limit=1000')).body),
      JSON.stringify((await h.admin('GET', `/v1/vault-keys/${vk.id}`)).body),
    ].join('\n');
    for (const s of [...secrets, vk.secret]) expect(everything).not.toContain(s);
    expect(h.logs.length).toBeGreaterThan(0);
    expect(JSON.parse(h.logs.at(-1)!)).toMatchObject({ msg: 'request', vault_key_id: vk.id, verdict: 'allowed' });
  });

  it('the store keeps only the hash of a vault key', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    const { readFileSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    await h.proxy.audit.drain();
    const bytes = [h.dbPath, h.dbPath + '-wal'].map((p) => {
      try {
        return readFileSync(p);
      } catch {
        return Buffer.alloc(0);
      }
    });
    const all = Buffer.concat(bytes);
    expect(all.includes(vk.secret)).toBe(false);
    expect(all.includes(createHash('sha256').update(vk.secret).digest('hex'))).toBe(true);
  });
});

describe('a Twilio production key echoed in the Basic form it was sent in never reaches the agent', () => {
  const SID = 'AC0123456789abcdef0123456789abcdef';
  const token = 'twilio-prod-token-0123456789abcdef';
  const basic = Buffer.from(`${SID}:${token}`).toString('base64');
  let vendor: Server;
  let proxy: RunningProxy;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // Given a Twilio that echoes the Authorization header it received, in its 401 body and a header
    vendor = createServer((req, res) => {
      req.resume();
      const auth = String(req.headers.authorization);
      res.writeHead(401, { 'content-type': 'application/json', 'x-echo-auth': auth });
      res.end(JSON.stringify({ code: 20003, message: `Authenticate: bad header "${auth}"`, status: 401 }));
    });
    ({ proxy, close } = await proxyInFront('twilio', vendor, { secret: token, account_sid: SID }));
  });
  afterAll(() => close?.());

  it('the base64 of SID:token is redacted from the error body and the headers', async () => {
    const vk = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'twilio' })).body;
    const res = await fetch(`${proxy.dataUrl}/2010-04-01/Accounts/${SID}/Messages.json`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${SID}:${vk.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'To=%2B15005550006&Body=x',
    });
    const text = await res.text();
    expect(res.status).toBe(401);
    expect(text).not.toContain(basic);
    expect(text).toContain('Basic [redacted by tourniquet]');
    expect(res.headers.get('x-echo-auth')).toBe('Basic [redacted by tourniquet]');
  });
});
