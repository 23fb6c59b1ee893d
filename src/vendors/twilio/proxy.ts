import { toUsd } from '../shared/money.js';
import { jsonBody, ok, simpleMeter } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { tourniquetDialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';

/** `price` is a negative decimal string in `price_unit`. */
const meter = (prices: PriceTable) =>
  simpleMeter((_req, res) => {
    if (!ok(res.status)) return null;
    const obj = jsonBody(res);
    if (!obj || obj.price === null || obj.price === undefined) return null;
    const price = Math.abs(Number(obj.price));
    if (!Number.isFinite(price)) return null;
    return toUsd(prices.units, price, typeof obj.price_unit === 'string' ? obj.price_unit : 'usd');
  });

export const twilioProxy: ProxyFacts = {
  baseUrl: 'https://api.twilio.com',
  key: { kind: 'basic-sid' },
  vaultKeyIn: ['basic', 'bearer'],
  customerIdPaths: ['body.To'],
  meter: (req, prices) => meter(prices)(req),
  refusal: tourniquetDialect,
};
