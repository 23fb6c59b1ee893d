import { jsonBody, ok, simpleMeter } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { tourniquetDialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';

/** A per-email figure from the price table. */
const meter = (prices: PriceTable) =>
  simpleMeter((req, res) => {
    const each = prices.units.per_email ?? null;
    if (!ok(res.status) || req.method !== 'POST' || each === null) return null;
    if (req.path === '/emails') return each;
    if (req.path === '/emails/batch') {
      const obj = jsonBody(res);
      return Array.isArray(obj?.data) ? obj.data.length * each : null;
    }
    return null;
  });

export const resendProxy: ProxyFacts = {
  baseUrl: 'https://api.resend.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer'],
  customerIdPaths: ['body.to'],
  meter: (req, prices) => meter(prices)(req),
  refusal: tourniquetDialect,
};
