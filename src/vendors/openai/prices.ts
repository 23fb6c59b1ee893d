import type { PriceTable } from '../shared/prices.js';

/** OpenAI list prices, USD per million tokens, by model prefix (the longest prefix wins). */
export const OPENAI_PRICES: PriceTable = {
  as_of: '2025-08-01',
  source: 'https://platform.openai.com/docs/pricing',
  models: {
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4.1-nano': { input: 0.1, output: 0.4 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
    'gpt-4.1': { input: 2, output: 8 },
    'gpt-5-mini': { input: 0.25, output: 2 },
    'gpt-5': { input: 1.25, output: 10 },
    o3: { input: 2, output: 8 },
    'o4-mini': { input: 1.1, output: 4.4 },
    // Unknown models are priced like this rather than as free.
    '': { input: 2.5, output: 10 },
  },
  units: {},
};
