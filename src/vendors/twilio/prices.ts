import { FX_UNITS } from '../shared/money.js';
import type { PriceTable } from '../shared/prices.js';

/**
 * A Twilio message's answer carries its own `price` once Twilio has priced it; until then (real
 * Twilio answers a new message with `price: null`) a US or Canadian number's message is
 * estimated at the outbound SMS list price per segment. Other destinations are of unknown cost.
 */
export const TWILIO_PRICES: PriceTable = {
  as_of: '2025-08-01',
  source: 'https://www.twilio.com/en-us/sms/pricing/us',
  models: {},
  units: { sms_segment_us: 0.0083, ...FX_UNITS },
};
