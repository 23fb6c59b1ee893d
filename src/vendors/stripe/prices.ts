import { FX_AS_OF, FX_UNITS } from '../shared/money.js';
import type { PriceTable } from '../shared/prices.js';

/** Stripe's cost is the money a call moves; the table only converts currencies to USD. */
export const STRIPE_PRICES: PriceTable = {
  as_of: FX_AS_OF,
  source: 'ECB euro reference rates (approximate; for caps and damage summaries, not accounting)',
  models: {},
  units: { ...FX_UNITS },
};

/** Currencies whose amounts Stripe gives in major units, not cents (stripe.com/docs/currencies#zero-decimal). */
export const ZERO_DECIMAL_CURRENCIES = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
