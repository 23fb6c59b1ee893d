import { type VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

export const resendFacts: VendorFacts = {
  id: 'resend',
  displayName: 'Resend',
  defaultBaseUrl: 'https://api.resend.com',
  capabilities: { create: true, delete: true, verify: true },
  auth: 'bearer',
  // Lists key metadata (never secrets). A sending-only key is refused with restricted_api_key: it is alive.
  probePath: () => '/api-keys',
  aliveWhen: (status, body) =>
    status === 401 && (body as { name?: unknown } | undefined)?.name === 'restricted_api_key',
};

/** Seed 002: a deleted key keeps working at the edge for this long (median, p95). */
export const resendTail: Tail = { medianMs: 500, p95Ms: 5_000 };
