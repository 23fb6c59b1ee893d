import { noCost, openaiCost, resendCost, stripeCost, twilioCost, type CostParser } from '../vendors/cost.js';
import { stripeAmountUsd } from '../vendors/prices.js';

/**
 * What the proxy needs to know about a vendor, as data: where it lives, where the production
 * key goes, how to read a call's cost and customer, and what a call asks to move.
 */
export type KeyPlacement =
  | { kind: 'bearer' }
  /** Twilio: HTTP Basic with the Account SID (or API key SID) as user and the secret as password. */
  | { kind: 'basic-sid' }
  /** Generic: one header, `{key}` replaced by the production key (`Authorization: Token {key}`, `X-Api-Key: {key}`). */
  | { kind: 'header'; header: string; template: string };

export interface VendorSpec {
  id: string;
  baseUrl: string;
  key: KeyPlacement;
  cost: CostParser;
  /** Where the customer id usually sits (see customer.ts for the syntax), in order. */
  customerIdPaths: string[];
  /** USD a request asks to move (for `per_call_amount_cap`), or null. */
  requestAmountUsd?: (method: string, path: string, body: Record<string, unknown> | null) => number | null;
}

function stripeRequestAmount(method: string, path: string, body: Record<string, unknown> | null): number | null {
  if (method !== 'POST' || !body) return null;
  if (!/^\/v1\/(charges|payment_intents|refunds)(\/[^/]+(\/(capture|confirm))?)?$/.test(path)) return null;
  const amount = Number(body.amount ?? body.amount_to_capture);
  if (!Number.isFinite(amount)) return null;
  return stripeAmountUsd(amount, typeof body.currency === 'string' ? body.currency : 'usd');
}

export const VENDORS: Record<string, VendorSpec> = {
  stripe: {
    id: 'stripe',
    baseUrl: 'https://api.stripe.com',
    key: { kind: 'bearer' },
    cost: stripeCost,
    customerIdPaths: ['body.customer', 'query.customer', 'after.customers'],
    requestAmountUsd: stripeRequestAmount,
  },
  openai: {
    id: 'openai',
    baseUrl: 'https://api.openai.com',
    key: { kind: 'bearer' },
    cost: openaiCost,
    customerIdPaths: ['body.user', 'body.safety_identifier', 'header.x-customer-id'],
  },
  twilio: {
    id: 'twilio',
    baseUrl: 'https://api.twilio.com',
    key: { kind: 'basic-sid' },
    cost: twilioCost,
    customerIdPaths: ['body.To'],
  },
  resend: {
    id: 'resend',
    baseUrl: 'https://api.resend.com',
    key: { kind: 'bearer' },
    cost: resendCost,
    customerIdPaths: ['body.to'],
  },
  generic: {
    id: 'generic',
    baseUrl: 'http://127.0.0.1:1',
    key: { kind: 'header', header: 'authorization', template: 'Bearer {key}' },
    cost: noCost,
    customerIdPaths: ['header.x-customer-id'],
  },
};

export interface VendorOverride {
  baseUrl?: string;
  header?: string;
  template?: string;
}

/** The vendor table with `--upstream` URLs and config-file overrides applied. */
export function buildVendorTable(overrides: Record<string, VendorOverride> = {}): Map<string, VendorSpec> {
  const table = new Map<string, VendorSpec>();
  for (const [id, spec] of Object.entries(VENDORS)) table.set(id, { ...spec });
  for (const [id, o] of Object.entries(overrides)) {
    const base = table.get(id) ?? { ...VENDORS.generic!, id };
    const key: KeyPlacement =
      o.header !== undefined || o.template !== undefined
        ? { kind: 'header', header: (o.header ?? 'authorization').toLowerCase(), template: o.template ?? 'Bearer {key}' }
        : base.key;
    table.set(id, { ...base, baseUrl: (o.baseUrl ?? base.baseUrl).replace(/\/+$/, ''), key });
  }
  return table;
}

/** The header (name, value) that carries a production key to the vendor. */
export function upstreamAuthHeader(spec: VendorSpec, secret: string, accountSid: string | null): [string, string] {
  switch (spec.key.kind) {
    case 'bearer':
      return ['authorization', `Bearer ${secret}`];
    case 'basic-sid':
      return ['authorization', `Basic ${Buffer.from(`${accountSid ?? ''}:${secret}`).toString('base64')}`];
    case 'header':
      return [spec.key.header, spec.key.template.replace('{key}', secret)];
  }
}
