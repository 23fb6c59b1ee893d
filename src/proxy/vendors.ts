import { VENDOR_MODULES, vendorModule } from '../vendors/registry.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { KeyPlacement, ProxyFacts, VaultKeyPlace } from '../vendors/module.js';
import type { MeterRequest, Metering } from '../vendors/shared/meter.js';
import { mergePrices, type PriceTable } from '../vendors/shared/prices.js';

export type { KeyPlacement } from '../vendors/module.js';

/**
 * The proxy's table of vendors: each vendor module's proxy facts (src/vendors/<id>/), with the
 * config's base URLs, key headers and prices applied. The data plane asks a vendor's spec for a
 * call's cost and for its refusals; it knows no vendor by name.
 */
export interface VendorSpec extends Omit<ProxyFacts, 'meter' | 'requestAmountUsd'> {
  id: string;
  prices: PriceTable;
  meter: (req: MeterRequest) => Metering;
  requestAmountUsd?: (method: string, path: string, body: Record<string, unknown> | null) => number | null;
}

export interface VendorOverride {
  baseUrl?: string;
  header?: string;
  template?: string;
  prices?: Partial<PriceTable>;
}

function specOf(id: string, facts: ProxyFacts, prices: PriceTable): VendorSpec {
  const amount = facts.requestAmountUsd;
  return {
    ...facts,
    id,
    prices,
    meter: (req) => facts.meter(req, prices),
    requestAmountUsd: amount ? (m, p, b) => amount(m, p, b, prices) : undefined,
  };
}

/** The vendor table with `--upstream` URLs and config-file overrides applied. */
export function buildVendorTable(overrides: Record<string, VendorOverride> = {}): Map<string, VendorSpec> {
  const table = new Map<string, VendorSpec>();
  for (const m of VENDOR_MODULES)
    table.set(m.id, specOf(m.id, m.proxy, mergePrices(m.prices, overrides[m.id]?.prices)));
  for (const [id, o] of Object.entries(overrides)) {
    const mod = vendorModule(id) ?? vendorModule('generic')!;
    const base = table.get(id) ?? specOf(id, mod.proxy, mergePrices(mod.prices, o.prices));
    const key: KeyPlacement =
      o.header !== undefined || o.template !== undefined
        ? {
            kind: 'header',
            header: (o.header ?? 'authorization').toLowerCase(),
            template: o.template ?? 'Bearer {key}',
          }
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

/**
 * The production key as it travels when that is not the raw secret (Twilio's Basic
 * base64(SID:token)): a vendor echoing its Authorization header must be scrubbed of this too.
 */
export function encodedCredential(spec: VendorSpec, secret: string, accountSid: string | null): string | null {
  if (spec.key.kind !== 'basic-sid') return null;
  return upstreamAuthHeader(spec, secret, accountSid)[1].slice('Basic '.length);
}

/** Every place any vendor's SDK puts its key (where the data plane looks for a vault key). */
export function vaultKeyPlaces(vendors: Map<string, VendorSpec>): VaultKeyPlace[] {
  const out = new Map<string, VaultKeyPlace>();
  for (const spec of vendors.values()) for (const p of spec.vaultKeyIn) out.set(JSON.stringify(p), p);
  return [...out.values()];
}

/**
 * The vendor a refusal speaks for: the vault key's (or the `/vendor` prefix's), else the first
 * vendor that recognises the request (a missing or unknown key), else the proxy's own dialect.
 */
export function refusalVendor(
  vendors: Map<string, VendorSpec>,
  known: string | null,
  req: { path: string; headers: IncomingHttpHeaders },
): VendorSpec {
  const named = known ? vendors.get(known) : undefined;
  if (named) return named;
  for (const spec of vendors.values()) if (spec.recognises?.(req)) return spec;
  return vendors.get('generic')!;
}
