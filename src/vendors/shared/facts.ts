import { usageError } from '../../core/errors.js';
import type { KeyCredential, VendorCapabilities, VendorConfig, VendorId } from '../types.js';

/**
 * What differs between vendors, as data: where their API lives, what it can do, how a key
 * authenticates, and which harmless call proves a key works. Each vendor's facts.ts fills one in.
 */
export interface VendorFacts {
  id: VendorId;
  displayName: string;
  defaultBaseUrl: string;
  capabilities: VendorCapabilities;
  /** How a key authenticates: a bearer token, Basic with an id (Twilio), or a header of the vendor's own (with fixed companions). */
  auth: 'bearer' | 'basic' | { header: string; with?: Record<string, string> };
  /** The harmless read that proves a key works. */
  probePath: (cfg: VendorConfig) => string;
  /**
   * Statuses that mean "the vendor knows this key" even though the call was not allowed
   * (a restricted key without permission for the probe's resource).
   */
  aliveWhen?: (status: number, body: unknown) => boolean;
  /** Where to do by hand what the API cannot do. */
  manual?: { create: string[]; delete: string[] };
  /** The shape of a key id the delete API takes (Twilio: `SK` + 32 hex); anything else is not one. */
  keyIdPattern?: RegExp;
}

/** A key id, if it has the shape the vendor's delete API takes; null otherwise. */
export function vendorKeyId(facts: VendorFacts, id: string | null | undefined): string | null {
  if (!id) return null;
  return !facts.keyIdPattern || facts.keyIdPattern.test(id) ? id : null;
}

export function authHeader(facts: VendorFacts, key: KeyCredential, cfg: VendorConfig): Record<string, string> {
  if (facts.auth === 'bearer') return { authorization: `Bearer ${key.secret}` };
  if (typeof facts.auth === 'object') return { ...facts.auth.with, [facts.auth.header]: key.secret };
  const user = key.id ?? cfg.accountSid ?? '';
  return { authorization: `Basic ${Buffer.from(`${user}:${key.secret}`).toString('base64')}` };
}

export function requireField(value: string | undefined, vendor: VendorId, setting: string): string {
  if (!value)
    throw usageError(
      `${vendor}: ${setting} is not set`,
      `set it: tourniquet config set vendors.${vendor}.${setting} VALUE`,
    );
  return value;
}
