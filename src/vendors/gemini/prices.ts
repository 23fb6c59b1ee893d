import type { PriceTable } from '../shared/prices.js';

/**
 * Gemini API paid-tier list prices, USD per million tokens (text, image and video input), by
 * model prefix (the longest wins: `gemini-2.5-flash-lite` is not `gemini-2.5-flash`). Thinking
 * tokens are billed as output. 2.5 Pro above 200k prompt tokens is billed at the higher rates.
 */
export const GEMINI_PRICES: PriceTable = {
  as_of: '2025-08-01',
  source: 'https://ai.google.dev/gemini-api/docs/pricing',
  models: {
    'gemini-2.5-pro': {
      input: 1.25,
      output: 10,
      cached_input: 0.31,
      tier_tokens: 200_000,
      above: { input: 2.5, output: 15 },
    },
    'gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cached_input: 0.025 },
    'gemini-2.5-flash': { input: 0.3, output: 2.5, cached_input: 0.075 },
    'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
    'gemini-2.0-flash': { input: 0.1, output: 0.4, cached_input: 0.025 },
    'gemini-embedding-001': { input: 0.15 },
  },
  units: {},
};
