import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, GoogleGenAI } from '@google/genai';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/** @google/genai (x-goog-api-key) and REST clients (?key=) through the proxy. */
describe('Gemini SDK through the proxy', () => {
  let h: Harness;
  const client = (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: h.proxy.dataUrl } });
  const flash = (u: { promptTokenCount?: number; candidatesTokenCount?: number }) =>
    ((u.promptTokenCount ?? 0) * 0.3 + (u.candidatesTokenCount ?? 0) * 2.5) / 1e6;
  beforeAll(async () => {
    h = await vendorHarness();
  });
  afterAll(async () => h.stop());

  it('generateContent: the production key replaces the vault key in x-goog-api-key; cost from usageMetadata', async () => {
    const vk = await h.issue({ vendor: 'gemini' });
    const r = await client(vk.secret).models.generateContent({ model: 'gemini-2.5-flash', contents: 'hello there' });
    expect(r.text).toContain('Sandbox reply to: hello there');
    const [row] = await auditOf(h, vk.id);
    expect([row.vendor, row.vendor_status]).toEqual(['gemini', 200]);
    expect(row.cost_usd_parsed).toBeCloseTo(flash(r.usageMetadata!), 12);
  });

  it('generateContentStream: every chunk reaches the SDK; the last usageMetadata is the cost', async () => {
    const vk = await h.issue({ vendor: 'gemini' });
    let text = '';
    let usage: { promptTokenCount?: number; candidatesTokenCount?: number } = {};
    for await (const c of await client(vk.secret).models.generateContentStream({
      model: 'gemini-2.5-flash',
      contents: 'stream please',
    })) {
      text += c.text ?? '';
      usage = c.usageMetadata ?? usage;
    }
    expect(text).toContain('Sandbox reply to: stream please');
    const [row] = await auditOf(h, vk.id);
    expect(row.cost_usd_parsed).toBeCloseTo(flash(usage), 12);
  });

  it('a REST call with ?key= works, and the vault key never reaches Google', async () => {
    const vk = await h.issue({ vendor: 'gemini' });
    const res = await fetch(`${h.proxy.dataUrl}/v1beta/models/gemini-2.5-flash:generateContent?key=${vk.secret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ parts: [{ text: 'via rest' }] }] }),
    });
    // The sandbox accepts only the production key: a 200 means the vault key was taken out of the URL.
    expect(res.status).toBe(200);
  });

  it('refusals: ApiError with the HTTP status and a google.rpc.Status body whose ErrorInfo reason is the verdict', async () => {
    const caught = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e as ApiError,
      );
    const ask = (key: string) => client(key).models.generateContent({ model: 'gemini-2.5-flash', contents: 'x' });
    const body = (e: ApiError) => JSON.parse(e.message).error;
    const revoked = await h.issue({ vendor: 'gemini' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = await caught(ask(revoked.secret));
    expect(e1).toBeInstanceOf(ApiError);
    expect([e1!.status, body(e1!).status, body(e1!).details[0].reason]).toEqual([
      401,
      'UNAUTHENTICATED',
      'VAULT_KEY_REVOKED',
    ]);

    const narrow = await h.issue({ vendor: 'gemini', allowed_endpoints: ['GET /v1beta/models'] });
    const e2 = await caught(ask(narrow.secret));
    expect([e2!.status, body(e2!).status, body(e2!).details[0].reason]).toEqual([
      403,
      'PERMISSION_DENIED',
      'ENDPOINT_NOT_ALLOWED',
    ]);

    const capped = await h.issue({ vendor: 'gemini', daily_usd_cap: 0.000001 });
    await ask(capped.secret);
    const e3 = await caught(ask(capped.secret));
    expect([e3!.status, body(e3!).status, body(e3!).details[0].reason]).toEqual([
      429,
      'RESOURCE_EXHAUSTED',
      'SPEND_CAP_EXCEEDED',
    ]);

    const slow = await h.issue({ vendor: 'gemini', calls_per_minute: 1 });
    await ask(slow.secret);
    const e4 = await caught(ask(slow.secret));
    expect([e4!.status, body(e4!).details[0].reason]).toEqual([429, 'RATE_LIMITED']);
    expect(body(e4!).details[1]).toMatchObject({
      '@type': 'type.googleapis.com/google.rpc.RetryInfo',
      retryDelay: expect.stringMatching(/^\d+s$/),
    });
  });
});
