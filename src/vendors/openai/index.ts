import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { openaiContract } from './contract.js';
import { openaiAdapter } from './adapter.js';
import { openaiFacts, openaiTail } from './facts.js';
import { OPENAI_PRICES } from './prices.js';
import { openaiProxy } from './proxy.js';

export const openai = {
  id: 'openai',
  displayName: 'OpenAI',
  proxy: openaiProxy,
  prices: OPENAI_PRICES,
  keys: { facts: openaiFacts, adapter: openaiAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startOpenAISandbox(opts),
  contract: openaiContract,
  tail: openaiTail,
} satisfies VendorModule;
