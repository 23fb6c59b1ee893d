import { usageError } from '../core/errors.js';
import type { KeyCredential, VendorCapabilities, VendorConfig, VendorId } from './types.js';

/**
 * What differs between vendors, as data: where their API lives, what it can do, how a key
 * authenticates, and which harmless call proves a key works. The adapters read this table.
 */
export interface VendorFacts {
  id: VendorId;
  displayName: string;
  defaultBaseUrl: string;
  capabilities: VendorCapabilities;
  /** How a key authenticates: a bearer token, or Basic with an id (Twilio). */
  auth: 'bearer' | 'basic';
  /** The harmless read that proves a key works. */
  probePath: (cfg: VendorConfig) => string;
  /**
   * Statuses that mean "the vendor knows this key" even though the call was not allowed
   * (a restricted key without permission for the probe's resource).
   */
  aliveWhen?: (status: number, body: any) => boolean;
  /** Where to do by hand what the API cannot do. */
  manual?: { create: string[]; delete: string[] };
}

export const VENDOR_FACTS: Record<VendorId, VendorFacts> = {
  stripe: {
    id: 'stripe',
    displayName: 'Stripe',
    defaultBaseUrl: 'https://api.stripe.com',
    capabilities: { create: false, delete: false, verify: true },
    auth: 'bearer',
    // A one-row list: harmless, and answered by every Stripe-compatible sandbox we test against.
    probePath: () => '/v1/customers?limit=1',
    // 403 is a permission error: the key authenticated, it is only restricted.
    aliveWhen: (status) => status === 403,
    manual: {
      create: [
        'Stripe has no API to create or roll a secret key; do it in the Dashboard:',
        '  1. Open https://dashboard.stripe.com/apikeys (Developers → API keys), in the right account and mode (live).',
        '  2. On the secret key row, open ⋯ → "Rotate key".',
        '  3. Set the old key to expire later (e.g. "in 1 hour") so nothing breaks while the proxy switches; tourniquet retires it after verifying the new one.',
        '  4. Copy the new key, then paste it at the masked prompt, or pass it with --new-key-file FILE or --new-key-file - (stdin).',
      ],
      delete: [
        'Stripe has no API to delete a secret key; expire it in the Dashboard:',
        '  1. Open https://dashboard.stripe.com/apikeys (Developers → API keys).',
        '  2. On the old key row, open ⋯ → "Expire key" (or shorten the expiry you set when rotating to "now").',
      ],
    },
  },
  openai: {
    id: 'openai',
    displayName: 'OpenAI',
    defaultBaseUrl: 'https://api.openai.com',
    capabilities: { create: true, delete: true, verify: true },
    auth: 'bearer',
    probePath: () => '/v1/models',
  },
  twilio: {
    id: 'twilio',
    displayName: 'Twilio',
    defaultBaseUrl: 'https://api.twilio.com',
    capabilities: { create: true, delete: true, verify: true },
    auth: 'basic',
    // Standard API keys may not read the Account resource itself; a one-row Messages list they may.
    probePath: (cfg) => `/2010-04-01/Accounts/${requireField(cfg.accountSid, 'twilio', 'account_sid')}/Messages.json?PageSize=1`,
  },
  resend: {
    id: 'resend',
    displayName: 'Resend',
    defaultBaseUrl: 'https://api.resend.com',
    capabilities: { create: true, delete: true, verify: true },
    auth: 'bearer',
    // Lists key metadata (never secrets). A sending-only key is refused with restricted_api_key: it is alive.
    probePath: () => '/api-keys',
    aliveWhen: (status, body) => status === 401 && body?.name === 'restricted_api_key',
  },
};

export function authHeader(facts: VendorFacts, key: KeyCredential, cfg: VendorConfig): Record<string, string> {
  if (facts.auth === 'bearer') return { authorization: `Bearer ${key.secret}` };
  const user = key.id ?? cfg.accountSid ?? '';
  return { authorization: `Basic ${Buffer.from(`${user}:${key.secret}`).toString('base64')}` };
}

export function requireField(value: string | undefined, vendor: VendorId, setting: string): string {
  if (!value) throw usageError(`${vendor}: ${setting} is not set`, `set it: tourniquet config set vendors.${vendor}.${setting} VALUE`);
  return value;
}
