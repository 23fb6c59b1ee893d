import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { anthropicContract } from './contract.js';
import { anthropicAdapter } from './adapter.js';
import { anthropicFacts, anthropicTail } from './facts.js';
import { ANTHROPIC_PRICES } from './prices.js';
import { anthropicProxy } from './proxy.js';

export const anthropic = {
  id: 'anthropic',
  displayName: 'Anthropic',
  proxy: anthropicProxy,
  prices: ANTHROPIC_PRICES,
  keys: { facts: anthropicFacts, adapter: anthropicAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startAnthropicSandbox(opts),
  contract: anthropicContract,
  tail: anthropicTail,
} satisfies VendorModule;
