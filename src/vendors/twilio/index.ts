import type { SandboxVendorOptions, VendorModule } from '../module.js';
import { twilioContract } from './contract.js';
import { twilioAdapter } from './adapter.js';
import { twilioFacts, twilioTail } from './facts.js';
import { TWILIO_PRICES } from './prices.js';
import { twilioProxy } from './proxy.js';

export const twilio = {
  id: 'twilio',
  displayName: 'Twilio',
  proxy: twilioProxy,
  prices: TWILIO_PRICES,
  keys: { facts: twilioFacts, adapter: twilioAdapter },
  sandbox: async (opts: SandboxVendorOptions) => (await import('./sandbox.js')).startTwilioSandbox(opts),
  contract: twilioContract,
  tail: twilioTail,
} satisfies VendorModule;
