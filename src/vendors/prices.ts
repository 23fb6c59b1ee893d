/**
 * Prices and rates the cost parsers use, kept as data so they can be updated without touching
 * the parsers. Figures are list prices in USD at the time of writing; adjust for your contract.
 */

/** OpenAI: USD per one million tokens, by model prefix (longest prefix wins). */
export const OPENAI_PRICES_PER_MTOK: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5': { input: 1.25, output: 10 },
  o3: { input: 2, output: 8 },
  'o4-mini': { input: 1.1, output: 4.4 },
  // Unknown models are priced like this rather than as free.
  default: { input: 2.5, output: 10 },
};

/** Resend: USD per email sent (Pro plan: $20 per 50,000). */
export const RESEND_USD_PER_EMAIL = 0.0004;

/** Stripe: currencies whose amounts are not in cents. */
export const ZERO_DECIMAL_CURRENCIES = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

/** Rough USD value of one unit of a currency, for caps and the damage summary (not for accounting). */
export const USD_PER_UNIT: Record<string, number> = {
  usd: 1,
  eur: 1.08,
  gbp: 1.27,
  cad: 0.73,
  aud: 0.66,
  chf: 1.13,
  jpy: 0.0067,
  inr: 0.012,
  brl: 0.18,
  mxn: 0.055,
  sek: 0.095,
};

export function openaiPrice(model: string | undefined): { input: number; output: number } {
  if (model) {
    const match = Object.keys(OPENAI_PRICES_PER_MTOK)
      .filter((p) => p !== 'default' && model.startsWith(p))
      .sort((a, b) => b.length - a.length)[0];
    if (match) return OPENAI_PRICES_PER_MTOK[match]!;
  }
  return OPENAI_PRICES_PER_MTOK.default!;
}

/** Stripe minor units → USD; null when the currency is unknown. */
export function stripeAmountUsd(amount: number, currency: string): number | null {
  const cur = currency.toLowerCase();
  const rate = USD_PER_UNIT[cur];
  if (rate === undefined) return null;
  const units = ZERO_DECIMAL_CURRENCIES.has(cur) ? amount : amount / 100;
  return units * rate;
}
