import type { Contract } from '../shared/contract.js';

/** openai/openai-openapi (admin API keys, projects, service accounts, chat, responses, embeddings); its server URL ends in /v1. */
export const openaiContract: Contract = {
  kind: 'openapi',
  documents: [{ file: 'openai.yaml', host: 'api', stripPrefix: '/v1' }],
};
