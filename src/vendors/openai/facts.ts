import { type VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

export const openaiFacts: VendorFacts = {
  id: 'openai',
  displayName: 'OpenAI',
  defaultBaseUrl: 'https://api.openai.com',
  capabilities: { create: true, delete: true, verify: true },
  auth: 'bearer',
  probePath: () => '/v1/models',
};

/** Seed 002: a deleted key keeps working at the edge for this long (median, p95). */
export const openaiTail: Tail = { medianMs: 60_000, p95Ms: 300_000 };
