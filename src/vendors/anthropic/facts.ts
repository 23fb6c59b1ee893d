import type Anthropic from '@anthropic-ai/sdk';
import type { VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

/** The probe's query, as @anthropic-ai/sdk types it (its types are Anthropic's contract here). */
const PROBE_QUERY: Anthropic.ModelListParams = { limit: 1 };

/** The API version every request names; the Messages API's current one. */
export const ANTHROPIC_VERSION = '2023-06-01';

export const anthropicFacts: VendorFacts = {
  id: 'anthropic',
  displayName: 'Anthropic',
  defaultBaseUrl: 'https://api.anthropic.com',
  // The Admin API lists and disables keys but cannot create one: rotation is guided.
  capabilities: { create: false, delete: false, verify: true },
  auth: { header: 'x-api-key', with: { 'anthropic-version': ANTHROPIC_VERSION } },
  probePath: () => `/v1/models?limit=${PROBE_QUERY.limit}`,
  manual: {
    create: [
      'Anthropic has no API to create an API key; do it in the Console:',
      '  1. Open https://console.anthropic.com/settings/keys (Settings → API keys), in the right workspace.',
      '  2. "Create Key", name it after this incident (e.g. tourniquet-<incident id>).',
      '  3. Copy the key, then paste it at the masked prompt, or pass it with --new-key-file FILE or --new-key-file - (stdin).',
    ],
    delete: [
      'Delete the old key in the Console (or disable it with the Admin API):',
      '  1. Open https://console.anthropic.com/settings/keys.',
      '  2. On the old key row, open ⋯ → "Delete API key".',
    ],
  },
};

/** Not measured (seed 002 has no Anthropic figure): an assumption for the sandbox only, not used by estimate. */
export const anthropicTail: Tail = { medianMs: 2_000, p95Ms: 10_000 };
