import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { geminiContract } from './contract.js';
import { geminiAdapter } from './adapter.js';
import { geminiFacts, geminiTail } from './facts.js';
import { GEMINI_PRICES } from './prices.js';
import { geminiProxy } from './proxy.js';

export const gemini = {
  id: 'gemini',
  displayName: 'Google Gemini',
  proxy: geminiProxy,
  prices: GEMINI_PRICES,
  keys: { facts: geminiFacts, adapter: geminiAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startGeminiSandbox(opts),
  contract: geminiContract,
  tail: geminiTail,
} satisfies VendorModule;
