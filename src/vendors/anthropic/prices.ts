import type { PriceTable } from '../shared/prices.js';

/**
 * Anthropic list prices, USD per million tokens, by model prefix (the longest prefix wins:
 * `claude-sonnet-4-5-20250929` is `claude-sonnet-4-5`). Cache writes are the 5-minute rate.
 * Sonnet 4 and 4.5 above 200k input tokens are billed at the long-context rates.
 */
export const ANTHROPIC_PRICES: PriceTable = {
  as_of: '2025-11-24',
  source: 'https://docs.claude.com/en/docs/about-claude/pricing',
  models: {
    'claude-opus-4-5': { input: 5, output: 25, cache_write: 6.25, cached_input: 0.5 },
    'claude-opus-4-1': { input: 15, output: 75, cache_write: 18.75, cached_input: 1.5 },
    'claude-opus-4': { input: 15, output: 75, cache_write: 18.75, cached_input: 1.5 },
    'claude-sonnet-4-5': {
      input: 3,
      output: 15,
      cache_write: 3.75,
      cached_input: 0.3,
      tier_tokens: 200_000,
      above: { input: 6, output: 22.5 },
    },
    'claude-sonnet-4': {
      input: 3,
      output: 15,
      cache_write: 3.75,
      cached_input: 0.3,
      tier_tokens: 200_000,
      above: { input: 6, output: 22.5 },
    },
    'claude-haiku-4-5': { input: 1, output: 5, cache_write: 1.25, cached_input: 0.1 },
    'claude-3-7-sonnet': { input: 3, output: 15, cache_write: 3.75, cached_input: 0.3 },
    'claude-3-5-sonnet': { input: 3, output: 15, cache_write: 3.75, cached_input: 0.3 },
    'claude-3-5-haiku': { input: 0.8, output: 4, cache_write: 1, cached_input: 0.08 },
    'claude-3-opus': { input: 15, output: 75, cache_write: 18.75, cached_input: 1.5 },
    'claude-3-haiku': { input: 0.25, output: 1.25, cache_write: 0.3, cached_input: 0.03 },
  },
  units: {},
};
