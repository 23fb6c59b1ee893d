import type Stripe from 'stripe';
import type { VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

/** The probe's query, as stripe-node types it (the SDK's types are Stripe's contract here). */
const PROBE_QUERY: Stripe.CustomerListParams = { limit: 1 };

export const stripeFacts: VendorFacts = {
  id: 'stripe',
  displayName: 'Stripe',
  defaultBaseUrl: 'https://api.stripe.com',
  capabilities: { create: false, delete: false, verify: true },
  auth: 'bearer',
  // A one-row list: harmless, and answered by every Stripe-compatible sandbox we test against.
  probePath: () => `/v1/customers?limit=${PROBE_QUERY.limit}`,
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
};

/** Seed 002: a deleted key keeps working at the edge for this long (median, p95). */
export const stripeTail: Tail = { medianMs: 45_000, p95Ms: 192_000 };
