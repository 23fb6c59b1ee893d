import type { Contract } from '../shared/contract.js';

/** twilio/twilio-oai: the 2010-04-01 REST API (Keys, Messages) and Accounts v1 (AuthTokens, on its own host). */
export const twilioContract: Contract = {
  kind: 'openapi',
  documents: [
    { file: 'twilio_api_v2010.json', host: 'api' },
    { file: 'twilio_accounts_v1.json', host: 'accounts' },
  ],
};
