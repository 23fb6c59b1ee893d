import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import OpenAI from 'openai';
import type { RunningProxy } from '../../src/proxy/index.js';
import { adminCall, proxyInFront, startHarness, through, type Harness } from './helpers.js';

const vendorCalls = (h: Harness) => h.sandbox.stripe.keys.stats().find((k) => k.id === h.sandbox.keys.stripe.id)!.calls;

describe('limits on one instance (the embedded store): exact, even when calls race', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('a $5 daily cap and ten $1.50 charges at once: exactly three reach the vendor', async () => {
    const vk = await h.issue({ vendor: 'stripe', daily_usd_cap: 5 });
    const before = vendorCalls(h);
    const body = 'amount=150&currency=usd&source=tok_visa';
    const results = await Promise.all(
      Array.from({ length: 10 }, () => through(h.proxy.dataUrl, 'POST', '/v1/charges', vk.secret, body)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    // (refused in Stripe's own dialect, the code saying why)
    expect(results.filter((r) => r.status !== 200).map((r) => r.json.error.code)).toEqual(
      Array(7).fill('spend_cap_exceeded'),
    );
    expect(vendorCalls(h) - before).toBe(3);
  });

  it('5 calls a minute and twenty at once: exactly five reach the vendor', async () => {
    const vk = await h.issue({ vendor: 'stripe', calls_per_minute: 5 });
    const before = vendorCalls(h);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    expect(results.filter((r) => r.status !== 200).map((r) => r.json.error.code)).toEqual(
      Array(15).fill('rate_limited'),
    );
    expect(vendorCalls(h) - before).toBe(5);
  });
});

describe('the daily cap on one instance, when a call costs what the vendor says afterwards', () => {
  let vendor: Server;
  let vendorCalls = 0;
  let proxy: RunningProxy;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    // Given an OpenAI that takes 300 ms and bills 50,000 gpt-4o output tokens ($0.50) a call
    vendor = createServer((req, res) => {
      vendorCalls++;
      req.resume();
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: 'chatcmpl_1',
            object: 'chat.completion',
            created: 0,
            model: 'gpt-4o',
            choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 0, completion_tokens: 50_000, total_tokens: 50_000 },
          }),
        );
      }, 300);
    });
    ({ proxy, close } = await proxyInFront('openai', vendor, { secret: 'sk-prod-openai-0123456789', label: 'main' }));
  });
  afterAll(() => close?.());

  it('a $1 cap and ten $0.50 chat completions at once: two reach the vendor, the rest are refused', async () => {
    const vk = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'openai', daily_usd_cap: 1 })).body;
    const openai = new OpenAI({ apiKey: vk.secret, baseURL: `${proxy.dataUrl}/v1`, maxRetries: 0 });
    const ask = () => openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    // When ten are fired together (the first to an endpoint goes alone; the others hold what it cost)
    const results = await Promise.allSettled(Array.from({ length: 10 }, ask));
    // Then the vendor sees two ($1.00), and the others are told the cap is reached
    expect(vendorCalls).toBe(2);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const codes = results.flatMap((r) =>
      r.status === 'rejected' ? [(r.reason as InstanceType<typeof OpenAI.APIError>).code] : [],
    );
    expect(codes).toEqual(Array(8).fill('spend_cap_exceeded'));
    const next = await ask().catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    expect((next as InstanceType<typeof OpenAI.APIError>).code).toBe('spend_cap_exceeded');
    expect(vendorCalls).toBe(2);
  });
});
