import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resend } from 'resend';
import type { Harness } from '../proxy/helpers.js';
import { auditOf, vendorHarness } from './harness.js';

/** The Resend SDK returns errors as `{ error: { statusCode, message, name } }` rather than throwing. */
describe('Resend SDK through the proxy', () => {
  let h: Harness;
  const client = (key: string) => new Resend(key, { baseUrl: h.proxy.dataUrl });
  const email = {
    from: 'agent@example.dev',
    to: ['c_42@example.com'],
    subject: 'your refund',
    html: '<p>on its way</p>',
  };
  beforeAll(async () => {
    h = await vendorHarness();
  });
  afterAll(async () => h.stop());

  it('a send is priced per email; a replay with the same Idempotency-Key sends nothing and is not charged', async () => {
    const vk = await h.issue({ vendor: 'resend' });
    const r = client(vk.secret);
    const first = await r.emails.send(email, { idempotencyKey: 'welcome-c42' });
    const again = await r.emails.send(email, { idempotencyKey: 'welcome-c42' });
    expect(first.error).toBeNull();
    expect(again.data?.id).toBe(first.data?.id);
    const rows = await auditOf(h, vk.id);
    expect(rows.map((x) => x.cost_usd_parsed)).toEqual([0.0004, 0]);
    expect(rows[0].customer_scope_id).toBe('c_42@example.com');
  });

  it('refusals arrive as the SDK’s error object with statusCode, name and message set', async () => {
    const send = (key: string) => client(key).emails.send(email);
    const revoked = await h.issue({ vendor: 'resend' });
    await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`);
    const e1 = (await send(revoked.secret)).error!;
    expect([e1.statusCode, e1.name]).toEqual([403, 'invalid_api_key']);
    expect(e1.message).toMatch(/^vault_key_revoked: /);

    const narrow = await h.issue({ vendor: 'resend', allowed_endpoints: ['GET /emails/*'] });
    const e2 = (await send(narrow.secret)).error!;
    expect([e2.statusCode, e2.name]).toEqual([401, 'restricted_api_key']);
    expect(e2.message).toMatch(/^endpoint_not_allowed: /);

    const capped = await h.issue({ vendor: 'resend', daily_usd_cap: 0.0003 });
    await send(capped.secret);
    const e3 = (await send(capped.secret)).error!;
    expect([e3.statusCode, e3.name]).toEqual([429, 'daily_quota_exceeded']);

    const slow = await h.issue({ vendor: 'resend', calls_per_minute: 1 });
    await send(slow.secret);
    const e4 = (await send(slow.secret)).error!;
    expect([e4.statusCode, e4.name]).toEqual([429, 'rate_limit_exceeded']);
    expect(e4.message).toMatch(/^rate_limited: /);
  });
});
