import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { resendContract } from './contract.js';
import { resendAdapter } from './adapter.js';
import { resendFacts, resendTail } from './facts.js';
import { RESEND_PRICES } from './prices.js';
import { resendProxy } from './proxy.js';

export const resend = {
  id: 'resend',
  displayName: 'Resend',
  proxy: resendProxy,
  prices: RESEND_PRICES,
  keys: { facts: resendFacts, adapter: resendAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startResendSandbox(opts),
  contract: resendContract,
  tail: resendTail,
} satisfies VendorModule;
