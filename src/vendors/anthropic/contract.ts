import type { Contract } from '../shared/contract.js';

/** No published OpenAPI document here: @anthropic-ai/sdk's types are the reference. */
export const anthropicContract: Contract = {
  kind: 'sdk-types',
  sdk: '@anthropic-ai/sdk',
  note: 'sandbox answers typed as Anthropic.Message, Anthropic.RawMessageStreamEvent, Anthropic.ModelInfo',
};
