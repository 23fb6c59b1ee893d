import { toUsd } from '../shared/money.js';
import { jsonBody, ok, simpleMeter } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { tourniquetDialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';
import { ZERO_DECIMAL_CURRENCIES } from './prices.js';

/** Stripe minor units → USD; null when the currency is unknown. */
export function stripeAmountUsd(prices: PriceTable, amount: number, currency: string): number | null {
  const cur = currency.toLowerCase();
  return toUsd(prices.units, ZERO_DECIMAL_CURRENCIES.has(cur) ? amount : amount / 100, cur);
}

const MOVES_MONEY = /^\/v1\/(charges|payment_intents|refunds)(\/[^/]+(\/(capture|confirm))?)?$/;

function requestAmountUsd(method: string, path: string, body: Record<string, unknown> | null, prices: PriceTable): number | null {
  if (method !== 'POST' || !body || !MOVES_MONEY.test(path)) return null;
  const amount = Number(body.amount ?? body.amount_to_capture);
  if (!Number.isFinite(amount)) return null;
  return stripeAmountUsd(prices, amount, typeof body.currency === 'string' ? body.currency : 'usd');
}

/** The amount moved by a charge, payment intent or refund, in USD. */
const meter = (prices: PriceTable) =>
  simpleMeter((req, res) => {
    if (!ok(res.status) || req.method === 'GET') return null;
    const obj = jsonBody(res);
    if (!obj || !['charge', 'payment_intent', 'refund'].includes(String(obj.object))) return null;
    if (typeof obj.amount !== 'number' || typeof obj.currency !== 'string') return null;
    return stripeAmountUsd(prices, obj.amount, obj.currency);
  });

export const stripeProxy: ProxyFacts = {
  baseUrl: 'https://api.stripe.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer', 'basic'],
  customerIdPaths: ['body.customer', 'query.customer', 'after.customers'],
  requestAmountUsd,
  meter: (req, prices) => meter(prices)(req),
  refusal: tourniquetDialect,
};
