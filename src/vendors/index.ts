import { usageError } from '../core/errors.js';
import type { AdapterDeps } from './shared/adapter.js';
import type { VendorFacts } from './shared/facts.js';
import { KEY_VENDOR_IDS, vendorModule } from './registry.js';
import type { VendorAdapter } from './types.js';

export type { AdapterDeps } from './shared/adapter.js';
export type { VendorFacts } from './shared/facts.js';
export * from './types.js';
export { readAdminKey, vendorConfig, type RawSettings } from './shared/config.js';
export { KEY_VENDOR_IDS } from './registry.js';

/** A vendor whose keys tourniquet can create, delete or check. */
export function isVendorId(v: string): boolean {
  return KEY_VENDOR_IDS.includes(v);
}

function keysOf(vendor: string) {
  const keys = vendorModule(vendor.toLowerCase())?.keys;
  if (!keys) throw usageError(`unknown vendor "${vendor}"`, `known vendors: ${KEY_VENDOR_IDS.join(', ')}`);
  return keys;
}

/** The one factory: a vendor id and its settings in, an adapter out. */
export function createVendorAdapter(vendor: string, deps: AdapterDeps): VendorAdapter {
  return keysOf(vendor).adapter(deps);
}

export function vendorFacts(vendor: string): VendorFacts {
  return keysOf(vendor).facts;
}
