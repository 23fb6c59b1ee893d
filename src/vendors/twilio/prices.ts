import { FX_UNITS } from '../shared/money.js';
import type { PriceTable } from '../shared/prices.js';

/** A Twilio message's answer carries its own `price`; the table converts its `price_unit`. */
export const TWILIO_PRICES: PriceTable = {
  as_of: '2025-08-01',
  source: 'https://www.twilio.com/en-us/sms/pricing/us',
  models: {},
  units: { ...FX_UNITS },
};
