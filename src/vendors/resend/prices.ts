import type { PriceTable } from '../shared/prices.js';

/** Resend bills per email sent: the Pro plan's $20 per 50,000. */
export const RESEND_PRICES: PriceTable = {
  as_of: '2025-08-01',
  source: 'https://resend.com/pricing',
  models: {},
  units: { per_email: 0.0004 },
};
