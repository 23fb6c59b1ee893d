/**
 * Rough USD value of one unit of a currency, for caps and the damage summary (not for
 * accounting). Read 2025-08-01 from the ECB reference rates; a currency not listed makes the
 * amount unknown rather than zero. The proxy config may add or change rates
 * (`vendors.stripe.prices.units: {fx_eur: 1.1}`).
 */
export const FX_AS_OF = '2025-08-01';

export const USD_PER_UNIT: Record<string, number> = {
  usd: 1,
  eur: 1.14,
  gbp: 1.32,
  cad: 0.72,
  aud: 0.64,
  chf: 1.23,
  jpy: 0.0067,
  inr: 0.0114,
  brl: 0.18,
  mxn: 0.053,
  sek: 0.1,
  nok: 0.097,
  dkk: 0.153,
  pln: 0.27,
  sgd: 0.77,
  hkd: 0.127,
  nzd: 0.59,
};

/** FX figures as price-table units (`fx_<currency>`), so config can override them like any price. */
export const FX_UNITS: Record<string, number> = Object.fromEntries(
  Object.entries(USD_PER_UNIT).map(([c, r]) => [`fx_${c}`, r]),
);

/** An amount in a currency's major unit as USD, from a table's `fx_<currency>` units; null when unknown. */
export function toUsd(units: Record<string, number>, amount: number, currency: string): number | null {
  const rate = units[`fx_${currency.toLowerCase()}`];
  return rate === undefined ? null : amount * rate;
}
