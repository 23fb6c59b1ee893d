import type { PriceTable } from '../shared/prices.js';

/**
 * OpenAI list prices (standard tier), USD per million tokens unless said otherwise, by model
 * prefix (the longest prefix wins: `gpt-4o-mini-2024-07-18` is `gpt-4o-mini`). A model not in
 * the table makes a call's cost unknown, never a guess; add it in the proxy config.
 */
export const OPENAI_PRICES: PriceTable = {
  as_of: '2025-08-07',
  source: 'https://platform.openai.com/docs/pricing',
  models: {
    'gpt-5-nano': { input: 0.05, cached_input: 0.005, output: 0.4 },
    'gpt-5-mini': { input: 0.25, cached_input: 0.025, output: 2 },
    'gpt-5': { input: 1.25, cached_input: 0.125, output: 10 },
    'gpt-4.1-nano': { input: 0.1, cached_input: 0.025, output: 0.4 },
    'gpt-4.1-mini': { input: 0.4, cached_input: 0.1, output: 1.6 },
    'gpt-4.1': { input: 2, cached_input: 0.5, output: 8 },
    'gpt-4o-mini': { input: 0.15, cached_input: 0.075, output: 0.6 },
    'gpt-4o': { input: 2.5, cached_input: 1.25, output: 10 },
    'gpt-4-turbo': { input: 10, output: 30 },
    'gpt-4': { input: 30, output: 60 },
    'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
    o1: { input: 15, cached_input: 7.5, output: 60 },
    'o1-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
    o3: { input: 2, cached_input: 0.5, output: 8 },
    'o3-mini': { input: 1.1, cached_input: 0.55, output: 4.4 },
    'o4-mini': { input: 1.1, cached_input: 0.275, output: 4.4 },
    // Embeddings: input tokens only.
    'text-embedding-3-small': { input: 0.02 },
    'text-embedding-3-large': { input: 0.13 },
    'text-embedding-ada-002': { input: 0.1 },
    // Images: GPT Image by tokens; DALL·E per image, by quality/size.
    'gpt-image-1': { input: 5, image_input: 10, output: 40 },
    'dall-e-3': {
      per_image: {
        'standard/1024x1024': 0.04,
        'standard/1024x1792': 0.08,
        'standard/1792x1024': 0.08,
        'hd/1024x1024': 0.08,
        'hd/1024x1792': 0.12,
        'hd/1792x1024': 0.12,
      },
    },
    'dall-e-2': { per_image: { '256x256': 0.016, '512x512': 0.018, '1024x1024': 0.02 } },
    // Audio: transcription by tokens when the answer has them, else by the minute; speech by character.
    'whisper-1': { per_minute: 0.006 },
    'gpt-4o-transcribe': { input: 6, output: 10, per_minute: 0.006 },
    'gpt-4o-mini-transcribe': { input: 3, output: 5, per_minute: 0.003 },
    'tts-1-hd': { per_mchar: 30 },
    'tts-1': { per_mchar: 15 },
    'gpt-4o-mini-tts': { input: 0.6, output: 12 },
  },
  units: {},
};
