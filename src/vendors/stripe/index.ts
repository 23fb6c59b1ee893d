import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { stripeContract } from './contract.js';
import { stripeAdapter } from './adapter.js';
import { stripeFacts, stripeTail } from './facts.js';
import { STRIPE_PRICES } from './prices.js';
import { stripeProxy } from './proxy.js';

export const stripe = {
  id: 'stripe',
  displayName: 'Stripe',
  proxy: stripeProxy,
  prices: STRIPE_PRICES,
  keys: { facts: stripeFacts, adapter: stripeAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startStripeSandbox(opts),
  contract: stripeContract,
  tail: stripeTail,
} satisfies VendorModule;
