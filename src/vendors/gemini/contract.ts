import type { Contract } from '../shared/contract.js';

/** No published OpenAPI document here: @google/genai's types are the reference. */
export const geminiContract: Contract = {
  kind: 'sdk-types',
  sdk: '@google/genai',
  note: 'sandbox answers typed as the fields of GenerateContentResponse and Model',
};
