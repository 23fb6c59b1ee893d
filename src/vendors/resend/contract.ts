import type { Contract } from '../shared/contract.js';

/** resend/resend-openapi (api-keys, emails). */
export const resendContract: Contract = { kind: 'openapi', documents: [{ file: 'resend.yaml', host: 'api' }] };
