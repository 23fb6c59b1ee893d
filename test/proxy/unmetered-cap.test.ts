import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { UnmeteredEstimates } from '../../src/proxy/limits/estimate.js';
import type { LiveVaultKey } from '../../src/proxy/state.js';
import { testKeyring } from '../helpers/master-key.js';
import { ADMIN_TOKEN, adminCall, proxyInFront, startHarness, type Harness } from './helpers.js';

/** A model the proxy has no price for: the vendor answers, the proxy cannot meter the call. */
const UNPRICED = 'ft:gpt-9-unreleased';

const caught = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
  );

describe('calls the proxy cannot meter count against the daily cap (one instance, the embedded store)', () => {
  let h: Harness;
  const client = (dataUrl: string, key: string) => new OpenAI({ apiKey: key, baseURL: `${dataUrl}/v1`, maxRetries: 0 });
  const ask = (dataUrl: string, key: string, model = UNPRICED) =>
    client(dataUrl, key).chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
  const rowsOf = async (id: string) => (await h.admin('GET', `/v1/audit?vault_key_id=${id}`)).body.data as any[];
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());

  it('a $1 cap, a $0.25 per-call cap, unpriced calls only: four go through, then the cap refuses; and still after a restart', async () => {
    const vk = await h.issue({ vendor: 'openai', daily_usd_cap: 1, per_call_amount_cap: 0.25 });
    let allowed = 0;
    let refusal: InstanceType<typeof OpenAI.APIError> | null = null;
    while (!refusal && allowed < 20) {
      refusal = await caught(ask(h.proxy.dataUrl, vk.secret));
      if (!refusal) allowed++;
    }
    expect(allowed).toBe(4);
    expect(refusal?.code).toBe('spend_cap_exceeded');
    // Each row says the cost is unknown and what it was charged, marked estimated.
    const rows = await rowsOf(vk.id);
    const forwarded = rows.filter((r) => r.policy_verdict === 'allowed');
    expect(forwarded.map((r) => [r.cost_usd_parsed, r.amount_usd_estimated])).toEqual(Array(4).fill([null, 0.25]));

    // A restart seeds today's spend from the audit: the estimates count, the key stays capped.
    await h.proxy.stop();
    h.proxy = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${h.dbPath}`,
      adminToken: ADMIN_TOKEN,
      masterKey: testKeyring(),
      upstreams: h.sandbox.urls,
      log: false,
      upstreamKeys: [{ vendor: 'openai', secret: h.sandbox.keys.openai.secret, label: 'main', state: 'active' }],
    });
    const after = await caught(ask(h.proxy.dataUrl, vk.secret));
    expect(after?.code).toBe('spend_cap_exceeded');
  });

  it('an unpriced call after a metered one to the same endpoint is charged the most that endpoint has cost', async () => {
    const vk = await h.issue({ vendor: 'openai', daily_usd_cap: 5 });
    await ask(h.proxy.dataUrl, vk.secret, 'gpt-4o-mini');
    await ask(h.proxy.dataUrl, vk.secret);
    const [metered, unmetered] = await rowsOf(vk.id);
    expect(metered.cost_usd_parsed).toBeGreaterThan(0);
    expect([unmetered.cost_usd_parsed, unmetered.amount_usd_estimated]).toEqual([null, metered.cost_usd_parsed]);
  });

  it('with no per-call cap and nothing learnt, an unpriced call is charged 1 % of the daily cap', async () => {
    const vk = await h.issue({ vendor: 'openai', daily_usd_cap: 3 });
    await ask(h.proxy.dataUrl, vk.secret);
    const [row] = await rowsOf(vk.id);
    expect([row.cost_usd_parsed, row.amount_usd_estimated]).toEqual([null, 0.03]);
  });
});

describe('the estimate of an unmetered call', () => {
  const key = (policy: Partial<LiveVaultKey>) =>
    ({ id: 'vk_id_e', daily_usd_cap: null, per_call_amount_cap: null, ...policy }) as LiveVaultKey;
  it('is, in order: the amount asked, the most the endpoint cost (over 0), the per-call cap, 1 % of the daily cap', () => {
    const e = new UnmeteredEstimates();
    const k = key({ daily_usd_cap: 50, per_call_amount_cap: 2 });
    expect(e.estimate(k, 7, 'POST /v1/refunds')).toBe(7);
    expect(e.estimate(k, null, 'POST /v1/refunds')).toBe(2);
    e.learn(k.id, 'POST /v1/refunds', 0); // a call known to cost nothing teaches nothing
    expect(e.estimate(k, null, 'POST /v1/refunds')).toBe(2);
    e.learn(k.id, 'POST /v1/refunds', 3.5);
    e.learn(k.id, 'POST /v1/refunds', 1);
    expect(e.estimate(k, null, 'POST /v1/refunds')).toBe(3.5);
    expect(e.estimate(key({ daily_usd_cap: 50 }), null, 'GET /x')).toBe(0.5);
    expect(e.estimate(key({}), null, 'GET /x')).toBeNull();
  });
});

describe('Twilio sends count against the daily cap whatever the URL form', () => {
  const SID = 'AC0123456789abcdef0123456789abcdef';
  let vendor: Server;
  let sent = 0;
  let proxy: RunningProxy;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // Given a Twilio that answers every POST with a sent message priced $0.0083 (JSON, as the repro's)
    vendor = createServer((req, res) => {
      sent++;
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ sid: 'SM1', to: '+15005550006', num_segments: '1', price: '-0.00830', price_unit: 'USD' }),
      );
    });
    ({ proxy, close } = await proxyInFront('twilio', vendor, {
      secret: 'twilio-prod-token-0123456789',
      account_sid: SID,
    }));
  });
  afterAll(() => close?.());

  const issue = async (policy: Record<string, unknown>) =>
    (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'twilio', ...policy })).body;
  const post = (secret: string, resource: string) =>
    fetch(`${proxy.dataUrl}/2010-04-01/Accounts/${SID}/${resource}`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${SID}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'To=%2B15005550006&From=%2B15005550001&Body=hi',
    });
  const rowsOf = async (id: string) => {
    await proxy.audit.drain();
    return (await adminCall(proxy.adminUrl, 'GET', `/v1/audit?vault_key_id=${id}&limit=100`)).body.data as any[];
  };

  it('POST .../Messages (no .json) is metered like Messages.json: a $0.05 cap stops it', async () => {
    const vk = await issue({ daily_usd_cap: 0.05 });
    const before = sent;
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) statuses.push((await post(vk.secret, 'Messages')).status);
    expect(sent - before).toBe(6); // 6 × $0.0083 = $0.0498; a seventh would pass the cap
    expect(statuses.filter((s) => s !== 201)).toHaveLength(14);
    const rows = await rowsOf(vk.id);
    const allowed = rows.filter((r) => r.policy_verdict === 'allowed');
    expect(allowed.map((r) => r.cost_usd_parsed)).toEqual(Array(6).fill(0.0083));
  });

  it('a POST the module does not know is of unknown cost (charged its estimate), not free', async () => {
    const vk = await issue({ daily_usd_cap: 1 });
    expect((await post(vk.secret, 'Queues.json')).status).toBe(201);
    const [row] = await rowsOf(vk.id);
    expect([row.cost_usd_parsed, row.amount_usd_estimated]).toEqual([null, 0.01]);
  });
});
