import type { VendorModule } from '../module.js';
import { tourniquetDialect } from '../shared/refusal.js';

/**
 * A vendor named only in the proxy's config: its base URL and the header that carries its key
 * (`vendors: {acme: {base_url, header, template}}`). Its calls are forwarded and audited; their
 * cost is unknown unless the vendor is given a module of its own.
 */
export const generic = {
  id: 'generic',
  displayName: 'Generic vendor',
  proxy: {
    baseUrl: 'http://127.0.0.1:1',
    key: { kind: 'header', header: 'authorization', template: 'Bearer {key}' },
    vaultKeyIn: ['bearer'],
    customerIdPaths: ['header.x-customer-id'],
    meter: () => ({ cost: () => null }),
    refusal: tourniquetDialect,
  },
  prices: { as_of: '', source: 'none: the generic vendor has no price table', models: {}, units: {} },
} satisfies VendorModule;
