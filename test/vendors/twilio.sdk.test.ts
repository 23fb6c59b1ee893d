import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/**
 * The Twilio SDK has no base-URL option, and `client.api.baseUrl` breaks once TWILIO_REGION or
 * TWILIO_EDGE is set. docs/vendors.md points it at the proxy with this RequestClient subclass:
 * every request keeps its path and query and goes to the proxy, whatever host the SDK chose.
 */
class ProxyRequestClient extends twilio.RequestClient {
  constructor(private readonly proxyUrl: string) {
    super({ timeout: 10_000 });
  }

  override request<T>(opts: RequestClient.RequestOptions<T>) {
    const u = new URL(opts.uri);
    return super.request<T>({ ...opts, uri: `${this.proxyUrl}${u.pathname}${u.search}` });
  }
}

describe('Twilio SDK through the proxy (a RequestClient subclass, the production Account SID)', () => {
  let h: Harness;
  let sid: string;
  const client = (vaultKey: string) =>
    twilio(sid, vaultKey, { httpClient: new ProxyRequestClient(`${h.proxy.dataUrl}/twilio`) });
  beforeAll(async () => {
    h = await vendorHarness();
    sid = h.sandbox.keys.twilio.account_sid;
  });
  afterAll(async () => h.stop());
  afterEach(() => {
    delete process.env.TWILIO_REGION;
    delete process.env.TWILIO_EDGE;
  });

  it('sends a message (cost from its price) even with TWILIO_REGION and TWILIO_EDGE set; polling it with GET is free', async () => {
    process.env.TWILIO_REGION = 'ie1';
    process.env.TWILIO_EDGE = 'dublin';
    const vk = await h.issue({ vendor: 'twilio' });
    const c = client(vk.secret);
    const msg = await c.messages.create({
      to: '+15555550100',
      from: '+15555550199',
      body: 'your refund is on its way',
    });
    expect(msg.sid).toMatch(/^SM/);
    for (let i = 0; i < 3; i++) expect((await c.messages(msg.sid).fetch()).status).toBe('queued');
    const rows = await auditOf(h, vk.id);
    expect(rows.map((r) => [r.method, r.cost_usd_parsed])).toEqual([
      ['POST', 0.0079],
      ['GET', 0],
      ['GET', 0],
      ['GET', 0],
    ]);
    expect(rows[0].customer_scope_id).toBe('+15555550100');
  });

  it('refusals are RestExceptions with a Twilio code and a message that says why (String(e) is not "Error")', async () => {
    const caught = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof twilio.RestException>,
      );
    const send = (key: string) => client(key).messages.create({ to: '+15555550100', from: '+15555550199', body: 'x' });
    const revoked = await h.issue({ vendor: 'twilio' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = await caught(send(revoked.secret));
    expect(e1).toBeInstanceOf(twilio.RestException);
    expect([e1!.status, e1!.code]).toEqual([401, 20003]);
    expect(e1!.message).toMatch(/^vault_key_revoked: vault key vk_\w+ was revoked/);
    expect(String(e1)).toContain('vault_key_revoked');
    expect(e1!.moreInfo).toBe('https://www.twilio.com/docs/errors/20003');

    const narrow = await h.issue({ vendor: 'twilio', allowed_endpoints: ['GET /2010-04-01/**'] });
    const e2 = await caught(send(narrow.secret));
    expect([e2!.status, e2!.code]).toEqual([403, 20403]);
    expect(e2!.message).toMatch(/^endpoint_not_allowed: /);

    const capped = await h.issue({ vendor: 'twilio', daily_usd_cap: 0.005 });
    await send(capped.secret);
    const e3 = await caught(send(capped.secret));
    expect([e3!.status, e3!.code]).toEqual([403, 20403]);
    expect(e3!.message).toMatch(/^spend_cap_exceeded: daily cap/);

    const slow = await h.issue({ vendor: 'twilio', calls_per_minute: 1 });
    await send(slow.secret);
    const e4 = await caught(send(slow.secret));
    expect([e4!.status, e4!.code]).toEqual([429, 20429]);
    expect(e4!.message).toMatch(/^rate_limited: /);
  });
});
