import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/** What an agent using the official OpenAI SDK sees through the proxy, and what the audit says it cost. */
describe('OpenAI SDK through the proxy', () => {
  let h: Harness;
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h.proxy.dataUrl}/v1`, maxRetries: 0 });
  beforeAll(async () => {
    h = await vendorHarness();
  });
  afterAll(async () => h.stop());

  it('a stream without include_usage (the SDK default) is metered, and the agent sees exactly the stream it asked for', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const chunks: any[] = [];
    const stream = await client(vk.secret).chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'count to three' }],
    });
    for await (const c of stream) chunks.push(c);
    // No usage chunk (choices: []) and no `usage` field: what OpenAI sends when include_usage is off.
    expect(chunks.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
    expect(chunks.map((c) => c.choices[0].delta.content ?? '').join('')).toContain('Sandbox reply to: count to three');
    const [row] = await auditOf(h, vk.id);
    expect(row.cost_usd_parsed).toBeGreaterThan(0);
  });

  it('a stream that asked for usage keeps its usage chunk, and is metered once', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const stream = await client(vk.secret).chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    });
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) usage = c.usage ?? usage;
    expect(usage?.prompt_tokens).toBeGreaterThan(0);
    const [row] = await auditOf(h, vk.id);
    expect(row.cost_usd_parsed).toBeCloseTo((usage!.prompt_tokens * 0.15 + usage!.completion_tokens * 0.6) / 1e6, 12);
  });

  it('Responses API: a plain call and a stream are metered from usage and response.completed', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const c = client(vk.secret);
    const plain = await c.responses.create({ model: 'gpt-4.1-mini', input: 'hello there' });
    expect(plain.output_text).toContain('Sandbox reply');
    let completed: OpenAI.Responses.Response | undefined;
    const stream = await c.responses.create({ model: 'gpt-4.1-mini', input: 'stream it', stream: true });
    for await (const ev of stream) if (ev.type === 'response.completed') completed = ev.response;
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
    const rows = await auditOf(h, vk.id);
    expect(rows).toHaveLength(2);
    const u = completed!.usage!;
    expect(rows[1].cost_usd_parsed).toBeCloseTo((u.input_tokens * 0.4 + u.output_tokens * 1.6) / 1e6, 12);
    expect(rows[0].cost_usd_parsed).toBeGreaterThan(0);
  });

  it('embeddings are priced at the embedding model list price, not a chat default', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const e = await client(vk.secret).embeddings.create({
      model: 'text-embedding-3-small',
      input: ['a refund of $15', 'another text'],
    });
    expect(e.data).toHaveLength(2);
    const [row] = await auditOf(h, vk.id);
    expect(row.cost_usd_parsed).toBeCloseTo((e.usage.prompt_tokens * 0.02) / 1e6, 12);
  });

  it('reads are not charged; a model not in the price table is marked unknown (null), not priced at a guess', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const c = client(vk.secret);
    await c.models.list();
    await c.chat.completions.create({ model: 'ft:gpt-9-unreleased', messages: [{ role: 'user', content: 'x' }] });
    const rows = await auditOf(h, vk.id);
    expect(rows.map((r) => [r.path, r.cost_usd_parsed])).toEqual([
      ['/v1/models', 0],
      ['/v1/chat/completions', null],
    ]);
  });

  it('refusals: revoked → AuthenticationError, endpoint → PermissionDeniedError, cap → RateLimitError insufficient_quota (not retried), rate → RateLimitError with a truthful Retry-After', async () => {
    const caught = async (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as InstanceType<typeof OpenAI.APIError>,
      );
    const revoked = await h.issue({ vendor: 'openai' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = await caught(client(revoked.secret).models.list());
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
    expect([e1!.status, e1!.code]).toEqual([401, 'vault_key_revoked']);
    expect(e1!.message).toContain('was revoked');

    const narrow = await h.issue({ vendor: 'openai', allowed_endpoints: ['GET /v1/models'] });
    const e2 = await caught(client(narrow.secret).embeddings.create({ model: 'text-embedding-3-small', input: 'x' }));
    expect(e2).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e2!.code).toBe('endpoint_not_allowed');

    const capped = await h.issue({ vendor: 'openai', daily_usd_cap: 0.000001 });
    await client(capped.secret).chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'spend a little' }],
    });
    const e3 = await caught(
      new OpenAI({ apiKey: capped.secret, baseURL: `${h.proxy.dataUrl}/v1`, maxRetries: 2 }).chat.completions.create({
        model: 'gpt-4o',
        messages: [{ role: 'user', content: 'x' }],
      }),
    );
    expect(e3).toBeInstanceOf(OpenAI.RateLimitError);
    expect([e3!.type, e3!.code]).toEqual(['insufficient_quota', 'spend_cap_exceeded']);
    // maxRetries: 2, yet one refusal: x-should-retry: false kept the SDK from retrying a cap.
    expect((await auditOf(h, capped.id)).filter((r) => r.policy_verdict === 'spend_cap_exceeded')).toHaveLength(1);

    const slow = await h.issue({ vendor: 'openai', calls_per_minute: 1 });
    await client(slow.secret).models.list();
    const e4 = await caught(client(slow.secret).models.list());
    expect(e4).toBeInstanceOf(OpenAI.RateLimitError);
    expect(e4!.code).toBe('rate_limited');
    const after = Number(e4!.headers?.get('retry-after'));
    expect(after).toBeGreaterThanOrEqual(1);
    expect(after).toBeLessThanOrEqual(60);
    expect(e4!.headers?.get('x-tourniquet-verdict')).toBe('rate_limited');
  });
});
