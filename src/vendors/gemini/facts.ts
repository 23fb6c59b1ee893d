import type { ListModelsConfig } from '@google/genai';
import type { VendorFacts } from '../shared/facts.js';
import type { Tail } from '../../sandbox/keyring.js';

/** The probe's query, as @google/genai types it (its types are Gemini's contract here). */
const PROBE_QUERY: ListModelsConfig = { pageSize: 1 };

export const geminiFacts: VendorFacts = {
  id: 'gemini',
  displayName: 'Google Gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com',
  // Gemini API keys are Google Cloud API keys: made and deleted in AI Studio or the Cloud console.
  capabilities: { create: false, delete: false, verify: true },
  auth: { header: 'x-goog-api-key' },
  probePath: () => `/v1beta/models?pageSize=${PROBE_QUERY.pageSize}`,
  manual: {
    create: [
      'Gemini API keys are made in Google AI Studio (or the Cloud console); no API is used here:',
      '  1. Open https://aistudio.google.com/apikey, in the right Google Cloud project.',
      '  2. "Create API key", then restrict it to the Generative Language API.',
      '  3. Copy the key, then paste it at the masked prompt, or pass it with --new-key-file FILE or --new-key-file - (stdin).',
    ],
    delete: [
      'Delete the old key in the Cloud console:',
      '  1. Open https://console.cloud.google.com/apis/credentials in the same project.',
      '  2. Select the old API key → "Delete".',
    ],
  },
};

/** Not measured (seed 002 has no Gemini figure): an assumption for the sandbox only, not used by estimate. */
export const geminiTail: Tail = { medianMs: 60_000, p95Ms: 300_000 };
