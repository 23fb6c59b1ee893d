import { toUsd } from '../shared/money.js';
import { header, jsonBody, notCharged, ok, type Metering, type MeterRequest } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { retryHeaders, type Dialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';
import { ZERO_DECIMAL_CURRENCIES } from './prices.js';

/** Stripe minor units → USD; null when the currency is unknown. */
export function stripeAmountUsd(prices: PriceTable, amount: number, currency: string): number | null {
  const cur = currency.toLowerCase();
  return toUsd(prices.units, ZERO_DECIMAL_CURRENCIES.has(cur) ? amount : amount / 100, cur);
}

/**
 * Where a request names an amount: creating a charge, payment intent, refund, transfer or payout
 * (no id), updating one (an id), capturing or confirming one (an id and the action).
 */
const NAMES_AMOUNT =
  /^\/v1\/(?:charges|payment_intents|refunds|transfers|payouts)(?:\/([^/]+)(\/(?:capture|confirm))?)?$/;

/** Requests that move money: all of those but an update. */
function movesMoney(method: string, path: string): boolean {
  const m = method === 'POST' ? NAMES_AMOUNT.exec(path) : null;
  return m !== null && (m[1] === undefined || m[2] !== undefined);
}

function requestAmountUsd(
  method: string,
  path: string,
  body: Record<string, unknown> | null,
  prices: PriceTable,
): number | null {
  if (method !== 'POST' || !body || !NAMES_AMOUNT.test(path)) return null;
  // One value each: a field repeated in the form (a list) is unreadable, never its first or last value.
  const raw = body.amount ?? body.amount_to_capture;
  const amount = typeof raw === 'number' || typeof raw === 'string' ? Number(raw) : NaN;
  const currency = body.currency ?? 'usd';
  if (!Number.isFinite(amount) || typeof currency !== 'string') return null;
  return stripeAmountUsd(prices, amount, currency);
}

/** Money an answer's object says moved: captured on a charge, received on a payment intent, the amount of a refund, transfer or payout. */
function movedMinorUnits(obj: Record<string, unknown>): number | null {
  const n = (v: unknown) => (typeof v === 'number' ? v : null);
  switch (obj.object) {
    case 'charge':
      return n(obj.amount_captured) ?? n(obj.amount);
    case 'payment_intent':
      return n(obj.amount_received);
    case 'refund':
    case 'transfer':
    case 'payout':
      return n(obj.amount);
    default:
      return 0;
  }
}

/**
 * The money a call moved, in USD. Reads, failed calls and other objects move none; an
 * idempotent replay (Stripe answers `Idempotent-Replayed: true`) moved nothing the first call
 * did not already, so it is not charged again.
 */
function stripeMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method === 'GET' || req.method === 'HEAD') return notCharged;
  return {
    cost(res) {
      if (!ok(res.status) || header(res, 'idempotent-replayed') === 'true') return 0;
      const obj = jsonBody(res);
      if (!obj) return null;
      const moved = movedMinorUnits(obj);
      if (moved === 0) return 0;
      return moved === null || typeof obj.currency !== 'string' ? null : stripeAmountUsd(prices, moved, obj.currency);
    },
  };
}

/**
 * Stripe's error body, `{"error": {"type", "code", "message"}}`. stripe-node picks the class by
 * status: 401 StripeAuthenticationError, 403 StripePermissionError, 429 StripeRateLimitError,
 * 400 StripeInvalidRequestError, and 402 StripeCardError, which is why a spend cap is answered
 * 403 (a policy refused it), never 402: code that handles card declines must not see a cap.
 */
const refusal: Dialect = (r) => {
  const status = r.code === 'spend_cap_exceeded' ? 403 : r.status;
  const type = status >= 500 ? 'api_error' : 'invalid_request_error';
  const headers = { ...retryHeaders(r), ...(status === 429 ? {} : { 'stripe-should-retry': 'false' }) };
  return { status, headers, body: { error: { type, code: r.code, message: r.message } } };
};

export const stripeProxy: ProxyFacts = {
  baseUrl: 'https://api.stripe.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer', 'basic'],
  recognises: ({ path }) =>
    /^\/v1\/(charges|customers|payment_intents|refunds|payouts|transfers|balance|invoices|subscriptions|checkout)/.test(
      path,
    ),
  customerIdPaths: ['body.customer', 'query.customer', 'after.customers'],
  movesMoney,
  requestAmountUsd,
  meter: stripeMeter,
  refusal,
};
