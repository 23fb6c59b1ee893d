import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/** @anthropic-ai/sdk (1.x sends a Bearer token; older SDKs and curl send x-api-key) through the proxy. */
describe('Anthropic SDK through the proxy', () => {
  let h: Harness;
  const client = (key: string, maxRetries = 0) => new Anthropic({ apiKey: key, baseURL: h.proxy.dataUrl, maxRetries });
  const sonnet = (u: { input_tokens: number; output_tokens: number }) =>
    (u.input_tokens * 3 + u.output_tokens * 15) / 1e6;
  beforeAll(async () => {
    h = await vendorHarness();
  });
  afterAll(async () => h.stop());

  it('a message, with the vault key as the SDK sends it (Bearer), reaches Anthropic with the production key in x-api-key; cost from usage', async () => {
    const vk = await h.issue({ vendor: 'anthropic' });
    const msg = await client(vk.secret).messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    const [row] = await auditOf(h, vk.id);
    expect([row.vendor, row.vendor_status]).toEqual(['anthropic', 200]);
    expect(row.cost_usd_parsed).toBeCloseTo(sonnet(msg.usage), 12);
  });

  it('x-api-key (older SDKs, curl) is accepted too', async () => {
    const vk = await h.issue({ vendor: 'anthropic' });
    const res = await fetch(`${h.proxy.dataUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': vk.secret, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
  });

  it('a stream is metered from message_start and message_delta, and passes through unchanged', async () => {
    const vk = await h.issue({ vendor: 'anthropic' });
    const stream = client(vk.secret).messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 64,
      messages: [{ role: 'user', content: 'stream please' }],
    });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringContaining('Sandbox reply to: stream please'),
    });
    const [row] = await auditOf(h, vk.id);
    expect(row.cost_usd_parsed).toBeCloseTo(sonnet(final.usage), 12);
  });

  it('refusals: revoked → AuthenticationError, endpoint → PermissionDeniedError, cap → PaymentRequiredError, rate → RateLimitError; errorCode is the verdict', async () => {
    const caught = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof Anthropic.APIError>,
      );
    const ask = (key: string, retries = 0) =>
      client(key, retries).messages.create({
        model: 'claude-sonnet-4-5',
        max_tokens: 8,
        messages: [{ role: 'user', content: 'x' }],
      });
    const revoked = await h.issue({ vendor: 'anthropic' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = await caught(ask(revoked.secret));
    expect(e1).toBeInstanceOf(Anthropic.AuthenticationError);
    expect([e1!.status, e1!.errorCode, e1!.type]).toEqual([401, 'vault_key_revoked', 'authentication_error']);
    expect(e1!.apiMessage).toContain('was revoked');

    const narrow = await h.issue({ vendor: 'anthropic', allowed_endpoints: ['GET /v1/models'] });
    const e2 = await caught(ask(narrow.secret));
    expect(e2).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(e2!.errorCode).toBe('endpoint_not_allowed');

    const capped = await h.issue({ vendor: 'anthropic', daily_usd_cap: 0.000001 });
    await ask(capped.secret);
    const e3 = await caught(ask(capped.secret, 2));
    expect(e3).toBeInstanceOf(Anthropic.PaymentRequiredError);
    expect([e3!.errorCode, e3!.type]).toEqual(['spend_cap_exceeded', 'billing_error']);

    const slow = await h.issue({ vendor: 'anthropic', calls_per_minute: 1 });
    await ask(slow.secret);
    const e4 = await caught(ask(slow.secret));
    expect(e4).toBeInstanceOf(Anthropic.RateLimitError);
    expect(e4!.errorCode).toBe('rate_limited');
    expect(Number(e4!.headers?.get('retry-after'))).toBeLessThanOrEqual(60);
  });

  it('a missing or unknown key is refused in Anthropic’s dialect too (the request says whose it is)', async () => {
    const e = await client('vk_unknown00000000000000000000')
      .messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] })
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e as InstanceType<typeof Anthropic.APIError>).errorCode).toBe('vault_key_unknown');
  });
});
