import type { VendorModule } from './module.js';
import { anthropic } from './anthropic/index.js';
import { gemini } from './gemini/index.js';
import { generic } from './generic/index.js';
import { openai } from './openai/index.js';
import { resend } from './resend/index.js';
import { stripe } from './stripe/index.js';
import { twilio } from './twilio/index.js';

/**
 * Every vendor the project knows, one line each. Adding a vendor is a folder under src/vendors/
 * and a line here; the proxy, the CLI and the sandbox read this list. The order matters where a
 * request could belong to more than one (a refusal's dialect is the first that recognises it).
 */
export const VENDORS = { stripe, anthropic, gemini, openai, twilio, resend, generic } as const;

export type KnownVendorId = keyof typeof VENDORS;

export const VENDOR_MODULES: readonly VendorModule[] = Object.values(VENDORS);

export function vendorModule(id: string): VendorModule | undefined {
  return (VENDORS as Record<string, VendorModule>)[id];
}

/** Vendors whose keys we manage (rotate, probe), in the registry's order. */
export const KEY_VENDOR_IDS = VENDOR_MODULES.filter((m) => m.keys).map((m) => m.id);

/** Vendors with a loopback fake. */
export type SandboxedVendorId = {
  [K in KnownVendorId]: (typeof VENDORS)[K] extends { sandbox: unknown } ? K : never;
}[KnownVendorId];
