import { RESEND_USD_PER_EMAIL, openaiPrice, stripeAmountUsd } from './prices.js';

/** What a cost parser sees: the forwarded request and the (possibly partial) response body. */
export interface CostInput {
  method: string;
  path: string;
  status: number;
  contentType: string;
  body: Buffer;
  /** The response body was longer than we kept; parsers that need the whole body give up. */
  truncated: boolean;
  requestBody: Record<string, unknown> | null;
}

export type CostParser = (input: CostInput) => number | null;

function json(input: CostInput): Record<string, unknown> | null {
  if (input.truncated || !input.contentType.includes('json')) return null;
  try {
    const v = JSON.parse(input.body.toString('utf8')) as unknown;
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const ok = (i: CostInput) => i.status >= 200 && i.status < 300;

/** Stripe: the amount moved by a charge, payment intent or refund, in USD. */
export const stripeCost: CostParser = (i) => {
  if (!ok(i) || i.method === 'GET') return null;
  const obj = json(i);
  if (!obj || !['charge', 'payment_intent', 'refund'].includes(String(obj.object))) return null;
  if (typeof obj.amount !== 'number' || typeof obj.currency !== 'string') return null;
  return stripeAmountUsd(obj.amount, obj.currency);
};

function tokenCost(usage: unknown, model: string | undefined): number | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as { prompt_tokens?: number; completion_tokens?: number; input_tokens?: number; output_tokens?: number };
  const input = u.prompt_tokens ?? u.input_tokens ?? 0;
  const output = u.completion_tokens ?? u.output_tokens ?? 0;
  const price = openaiPrice(model);
  return (input * price.input + output * price.output) / 1e6;
}

/** OpenAI: token usage times the price table; for a stream, the chunk that carries `usage`. */
export const openaiCost: CostParser = (i) => {
  if (!ok(i)) return null;
  if (i.contentType.includes('text/event-stream')) {
    let found: number | null = null;
    for (const line of i.body.toString('utf8').split('\n')) {
      if (!line.startsWith('data: {') || !line.includes('"usage"')) continue;
      try {
        const ev = JSON.parse(line.slice(6)) as { usage?: unknown; model?: string };
        const c = tokenCost(ev.usage, ev.model);
        if (c !== null) found = c;
      } catch {
        // A cut-off event: nothing to count.
      }
    }
    return found;
  }
  const obj = json(i);
  return obj ? tokenCost(obj.usage, typeof obj.model === 'string' ? obj.model : undefined) : null;
};

/** Twilio: `price` is a negative decimal string in `price_unit`. */
export const twilioCost: CostParser = (i) => {
  if (!ok(i)) return null;
  const obj = json(i);
  if (!obj || obj.price === null || obj.price === undefined) return null;
  const price = Math.abs(Number(obj.price));
  if (!Number.isFinite(price)) return null;
  const unit = typeof obj.price_unit === 'string' ? obj.price_unit.toLowerCase() : 'usd';
  return unit === 'usd' ? price : stripeAmountUsd(price * 100, unit);
};

/** Resend: a per-email figure from the price table. */
export const resendCost: CostParser = (i) => {
  if (!ok(i) || i.method !== 'POST') return null;
  if (i.path === '/emails') return RESEND_USD_PER_EMAIL;
  if (i.path === '/emails/batch') {
    const obj = json(i);
    return Array.isArray(obj?.data) ? obj.data.length * RESEND_USD_PER_EMAIL : null;
  }
  return null;
};

export const noCost: CostParser = () => null;
