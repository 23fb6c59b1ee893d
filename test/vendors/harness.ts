import { startHarness, type Harness } from '../proxy/helpers.js';
import type { SandboxOptions } from '../../src/sandbox/index.js';

/** The proxy harness with a production key for every sandboxed vendor, Anthropic and Gemini included. */
export async function vendorHarness(sandbox: SandboxOptions = {}): Promise<Harness> {
  const h = await startHarness({ sandbox, proxy: { upstreamKeys: [] } });
  const k = h.sandbox.keys;
  const keys = [
    { vendor: 'stripe', secret: k.stripe.secret },
    { vendor: 'openai', secret: k.openai.secret },
    { vendor: 'anthropic', secret: k.anthropic.secret },
    { vendor: 'gemini', secret: k.gemini.secret },
    { vendor: 'twilio', secret: k.twilio.secret, account_sid: k.twilio.account_sid },
    { vendor: 'resend', secret: k.resend.secret },
  ];
  for (const key of keys) {
    const r = await h.admin('POST', '/v1/upstream-keys', { ...key, label: 'main', state: 'active' });
    if (r.status !== 201) throw new Error(`upstream key ${key.vendor}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return h;
}

/** The audit rows of one vault key, oldest first (rows are durable before the answer, so no wait). */
export async function auditOf(h: Harness, vaultKeyId: string): Promise<any[]> {
  const r = await h.admin('GET', `/v1/audit?vault_key_id=${vaultKeyId}`);
  if (r.status !== 200) throw new Error(`audit: ${r.status}`);
  return r.body.data;
}
