import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { Resend } from 'resend';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { createVendorAdapter } from '../../src/vendors/index.js';
import { VENDORS } from '../../src/vendors/registry.js';
import type { Contract, ContractDocument } from '../../src/vendors/shared/contract.js';
import { startRecorder, type Exchange, type Recorder } from './contract/recorder.js';
import { check, checkEvents, findSpecsDir, loadDocument, type Finding } from './contract/specs.js';

/**
 * Contracts from the vendors' own documents: every request each adapter makes and every answer
 * each sandbox route gives (driven by the adapters and the official SDKs, through a recording
 * relay) is validated against the vendor's published OpenAPI document with openapi-backend.
 * Stripe, Anthropic and Gemini publish none here: their SDKs' types are the reference, enforced
 * by the type check (the sandbox builds its answers as those types).
 */
const specs = findSpecsDir();
if (!specs && process.env.CI)
  throw new Error(
    "the vendors' OpenAPI documents (../shared/vendor-specs/) are missing: the contract suite cannot run, and in CI that is a failure",
  );
const suite = specs ? describe : describe.skip;
if (!specs)
  console.warn(
    'contract suite skipped: no ../shared/vendor-specs/ beside the repository (set TOURNIQUET_VENDOR_SPECS to its path)',
  );

const docOf = (vendor: 'openai' | 'twilio' | 'resend', host: ContractDocument['host']): ContractDocument => {
  const c: Contract = VENDORS[vendor].contract;
  if (c?.kind !== 'openapi') throw new Error(`${vendor} has no OpenAPI contract`);
  return c.documents.find((d) => d.host === host)!;
};
const report = (f: Finding[]) => f.map((x) => `${x.exchange}: ${x.problem}`).join('\n');

suite("vendor contracts (the vendors' OpenAPI documents)", () => {
  let sb: Sandbox;
  const relays: Recorder[] = [];
  const relay = async (url: string) => {
    const r = await startRecorder(url);
    relays.push(r);
    return r;
  };
  beforeAll(async () => {
    sb = await startSandbox({ timeScale: 0.0001, tailMode: 'median' });
  });
  afterAll(async () => {
    await Promise.all(relays.map((r) => r.close()));
    await sb.stop();
  });

  it("OpenAI: the adapter's admin calls and the SDK's model calls, answers and stream events", async () => {
    const rec = await relay(sb.urls.openai);
    const config = { baseUrl: rec.url, projectId: sb.keys.openai.project_id };
    const adapter = createVendorAdapter('openai', { config, adminKey: sb.keys.openai.admin_key });
    const made = await adapter.createKey({ name: 'tourniquet-contract' });
    expect(await adapter.listKeys!('tourniquet-contract')).toHaveLength(1);
    await adapter.probe({ secret: made.secret });
    await adapter.deleteKey(made.meta!.api_key_id!);
    await adapter.deleteKey(made.id);
    const user = sb.openai.createKey('dashboard key');
    await adapter.deleteProjectKey!(user.id);
    // The document's own error: a service account's key cannot be deleted alone.
    const sa = await adapter.createKey({ name: 'tourniquet-contract-2' });
    await fetch(`${rec.url}/v1/organization/projects/${config.projectId}/api_keys/${sa.meta!.api_key_id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sb.keys.openai.admin_key}` },
    });
    const client = new OpenAI({ apiKey: sb.keys.openai.secret, baseURL: `${rec.url}/v1`, maxRetries: 0 });
    await client.models.list();
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    for await (const _ of await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
    }));
    for await (const _ of await client.chat.completions.create({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
    }));
    await client.responses.create({ model: 'gpt-4.1-mini', input: 'hi' });
    for await (const _ of await client.responses.create({ model: 'gpt-4.1-mini', input: 'hi', stream: true }));
    await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });

    const loaded = await loadDocument(specs!, docOf('openai', 'api'));
    const streams = (p: string) =>
      rec.exchanges.filter((e) => e.path === p && String(e.responseHeaders['content-type']).includes('event-stream'));
    const findings = [
      ...check(loaded, rec.exchanges),
      ...streams('/v1/chat/completions').flatMap((e) => checkEvents(loaded, e, 'CreateChatCompletionStreamResponse')),
      ...streams('/v1/responses').flatMap((e) => checkEvents(loaded, e, 'ResponseStreamEvent')),
    ];
    expect(rec.exchanges.length).toBeGreaterThan(15);
    expect(findings, report(findings)).toEqual([]);
  }, 180_000); // parsing openai.yaml (3 MB) alone takes seconds on a loaded machine

  it('Twilio: Keys and Messages against the 2010-04-01 document, AuthTokens against Accounts v1 (its own host)', async () => {
    const api = await relay(sb.urls.twilio);
    const accounts = await relay(sb.twilio.accountsUrl);
    const config = { baseUrl: api.url, accountSid: sb.keys.twilio.account_sid, accountsBaseUrl: accounts.url };
    const adapter = createVendorAdapter('twilio', { config, adminKey: sb.twilio.authToken });
    const made = await adapter.createKey({ name: 'tourniquet-contract' });
    expect(await adapter.listKeys!('tourniquet-contract')).toHaveLength(1);
    await adapter.probe({ id: made.id, secret: made.secret });
    await adapter.deleteKey(made.id);
    await adapter.deleteKey(made.id);
    const secondary = await adapter.authToken!.createSecondary();
    await adapter.authToken!.deleteSecondary();
    class Relay extends twilio.RequestClient {
      override request<T>(opts: RequestClient.RequestOptions<T>) {
        const u = new URL(opts.uri);
        return super.request<T>({ ...opts, uri: `${api.url}${u.pathname}${u.search}` });
      }
    }
    const sdk = twilio(config.accountSid, sb.twilio.authToken, { httpClient: new Relay() });
    const msg = await sdk.messages.create({ to: '+15555550100', from: '+15555550199', body: 'contract' });
    await sdk.messages(msg.sid).fetch();
    await sdk.messages.list({ limit: 5 });
    await adapter.authToken!.createSecondary();
    await adapter.authToken!.promote();
    expect(secondary.secret).not.toBe(sb.twilio.authToken);

    const findings = [
      ...check(await loadDocument(specs!, docOf('twilio', 'api')), api.exchanges),
      ...check(await loadDocument(specs!, docOf('twilio', 'accounts')), accounts.exchanges),
    ];
    expect(accounts.exchanges.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      'POST /v1/AuthTokens/Secondary 201',
      'DELETE /v1/AuthTokens/Secondary 204',
      'POST /v1/AuthTokens/Secondary 201',
      'POST /v1/AuthTokens/Promote 200',
    ]);
    expect(findings, report(findings)).toEqual([]);
  }, 180_000); // parsing openai.yaml (3 MB) alone takes seconds on a loaded machine

  it('Resend: api-keys (create, paged list, delete, a second delete) and emails (send, batch, get)', async () => {
    const rec = await relay(sb.urls.resend);
    const adapter = createVendorAdapter('resend', { config: { baseUrl: rec.url }, adminKey: sb.keys.resend.secret });
    const made = await adapter.createKey({ name: 'tourniquet-contract' });
    expect(await adapter.listKeys!('tourniquet-contract')).toHaveLength(1);
    await adapter.probe({ secret: made.secret });
    await adapter.deleteKey(made.id);
    await adapter.deleteKey(made.id);
    const resend = new Resend(sb.keys.resend.secret, { baseUrl: rec.url });
    const sent = await resend.emails.send({
      from: 'a@example.dev',
      to: ['b@example.com'],
      subject: 's',
      html: '<p>x</p>',
    });
    await resend.batch.send([{ from: 'a@example.dev', to: ['c@example.com'], subject: 's', html: '<p>y</p>' }]);
    await resend.emails.get(sent.data!.id);
    const findings = check(await loadDocument(specs!, docOf('resend', 'api')), rec.exchanges);
    expect(findings, report(findings)).toEqual([]);
  }, 180_000); // parsing openai.yaml (3 MB) alone takes seconds on a loaded machine

  it('the checker is not vacuous: a broken answer, an unknown route and a wrong sid are each caught', async () => {
    const twilioApi = await loadDocument(specs!, docOf('twilio', 'api'));
    const openai = await loadDocument(specs!, docOf('openai', 'api'));
    const resend = await loadDocument(specs!, docOf('resend', 'api'));
    const ex = (method: string, path: string, status: number, response: unknown, body = ''): Exchange => ({
      method,
      path,
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(body),
      status,
      responseHeaders: { 'content-type': 'application/json' },
      response: Buffer.from(JSON.stringify(response)),
    });
    const sid = sb.keys.twilio.account_sid;
    expect(check(twilioApi, [ex('DELETE', `/2010-04-01/Accounts/${sid}/Keys/auth_token.json`, 204, '')])).not.toEqual(
      [],
    );
    expect(
      check(openai, [
        ex('POST', '/v1/organization/projects/p/service_accounts', 200, {
          id: 'svc_1',
          name: 'x',
          role: 'member',
          created_at: 1,
          api_key: null,
        }),
      ]),
    ).not.toEqual([]);
    expect(check(resend, [ex('GET', '/api-keyz', 200, {})])).not.toEqual([]);
  }, 180_000); // parsing openai.yaml (3 MB) alone takes seconds on a loaded machine
});

describe('vendors whose SDK types are the contract', () => {
  it('Stripe, Anthropic and Gemini name their SDK as the reference (enforced by the type check of their sandboxes)', () => {
    for (const v of ['stripe', 'anthropic', 'gemini'] as const)
      expect(VENDORS[v].contract).toMatchObject({ kind: 'sdk-types' });
  });
});
