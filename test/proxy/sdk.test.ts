import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Stripe from 'stripe';
import OpenAI from 'openai';
import { startHarness, type Harness } from './helpers.js';

describe('official SDKs through the proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.stop());

  it('Stripe SDK: creates a customer and a charge with a vault key; the audit has cost and customer', async () => {
    const vk = await h.issue({ vendor: 'stripe', agent_run_id: 'run_sdk', labels: { agent: 'refunder' } });
    const port = Number(new URL(h.proxy.dataUrl).port);
    const stripe = new Stripe(vk.secret, { host: '127.0.0.1', port, protocol: 'http', maxNetworkRetries: 0 });
    const customer = await stripe.customers.create({ email: 'a@example.com' });
    const charge = await stripe.charges.create({
      amount: 1250,
      currency: 'usd',
      customer: customer.id,
      source: 'tok_visa',
    });
    expect(charge.amount).toBe(1250);
    const refund = await stripe.refunds.create({ charge: charge.id, amount: 500 });
    expect(refund.status).toBe('succeeded');
    const audit = await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}`);
    expect(audit.status).toBe(200);
    const rows = audit.body.data;
    expect(rows.map((r: any) => `${r.method} ${r.path}`)).toEqual([
      'POST /v1/customers',
      'POST /v1/charges',
      'POST /v1/refunds',
    ]);
    expect(rows[1].cost_usd_parsed).toBeCloseTo(12.5);
    expect(rows[1].customer_scope_id).toBe(customer.id);
    expect(rows[2].cost_usd_parsed).toBeCloseTo(5);
    expect(
      rows.every((r: any) => r.policy_verdict === 'allowed' && r.agent_run_id === 'run_sdk' && r.upstream_key_id),
    ).toBe(true);
  });

  it('OpenAI SDK: chat completion and a stream, token cost parsed from usage', async () => {
    const vk = await h.issue({ vendor: 'openai', agent_run_id: 'run_llm' });
    const client = new OpenAI({ apiKey: vk.secret, baseURL: `${h.proxy.dataUrl}/v1`, maxRetries: 0 });
    const done = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hello there' }],
    });
    expect(done.choices[0]?.message.content).toContain('Sandbox reply');
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'stream please' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toContain('Sandbox reply to: stream please');
    const rows = (await h.admin('GET', `/v1/audit?vault_key_id=${vk.id}`)).body.data;
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.cost_usd_parsed).toBeGreaterThan(0);
  });

  it('the /VENDOR/ prefix is accepted (OpenAI SDK with baseURL …/openai/v1)', async () => {
    const vk = await h.issue({ vendor: 'openai' });
    const client = new OpenAI({ apiKey: vk.secret, baseURL: `${h.proxy.dataUrl}/openai/v1`, maxRetries: 0 });
    const models = await client.models.list();
    expect(models.data[0]?.id).toBe('gpt-4o-mini');
  });

  it('Twilio (Basic with the Account SID) and Resend (Bearer) through the proxy', async () => {
    const tw = await h.issue({ vendor: 'twilio' });
    const sid = h.sandbox.keys.twilio.account_sid;
    const basic = Buffer.from(`${sid}:${tw.secret}`).toString('base64');
    const res = await fetch(`${h.proxy.dataUrl}/2010-04-01/Accounts/${sid}/Messages.json`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ To: '+15555550100', From: '+15555550199', Body: 'hi' }).toString(),
    });
    expect(res.status).toBe(201);
    const rs = await h.issue({ vendor: 'resend' });
    const mail = await fetch(`${h.proxy.dataUrl}/emails`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rs.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: 'a@x.dev', to: ['c_42@example.com'], subject: 's', html: '<p>x</p>' }),
    });
    expect(mail.status).toBe(200);
    const twRows = (await h.admin('GET', `/v1/audit?vault_key_id=${tw.id}`)).body.data;
    expect(twRows[0].cost_usd_parsed).toBeCloseTo(0.0079);
    expect(twRows[0].customer_scope_id).toBe('+15555550100');
    const rsRows = (await h.admin('GET', `/v1/audit?vault_key_id=${rs.id}`)).body.data;
    expect(rsRows[0].cost_usd_parsed).toBeCloseTo(0.0004);
    expect(rsRows[0].customer_scope_id).toBe('c_42@example.com');
  });
});
