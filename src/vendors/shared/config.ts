import { parseSecretRef, readSecret, type SecretInputs } from '../../core/secrets.js';
import type { VendorConfig, VendorId } from '../types.js';

/** The part of Settings we read: nested `vendors` table or flat `vendors.<id>.<key>` entries. */
export interface RawSettings {
  raw(key: string): unknown;
}

const FIELDS: Record<keyof VendorConfig, string> = {
  baseUrl: 'base_url',
  adminKeyRef: 'admin_key',
  accountSid: 'account_sid',
  adminKeySid: 'admin_key_sid',
  accountsBaseUrl: 'accounts_base_url',
  projectId: 'project_id',
};

/**
 * A vendor's config. Precedence: TOURNIQUET_<VENDOR>_<FIELD> environment variables, then the
 * profile's `vendors.<id>.<field>` (nested table or flat key). admin_key is a reference, never a secret.
 */
export function vendorConfig(
  vendor: VendorId,
  settings: RawSettings | undefined,
  env: Record<string, string | undefined>,
): VendorConfig {
  const nested = (settings?.raw('vendors') as Record<string, Record<string, unknown>> | undefined)?.[vendor] ?? {};
  const cfg: VendorConfig = {};
  for (const [field, key] of Object.entries(FIELDS) as [keyof VendorConfig, string][]) {
    const fromEnv = env[`TOURNIQUET_${vendor.toUpperCase()}_${key.toUpperCase()}`];
    const fromProfile = nested[key] ?? settings?.raw(`vendors.${vendor}.${key}`);
    const value = fromEnv || (typeof fromProfile === 'string' ? fromProfile : undefined);
    if (value) cfg[field] = value;
  }
  return cfg;
}

/** Read the admin credential a config points at (env:NAME / file:PATH / -), or undefined when none is configured. */
export async function readAdminKey(vendor: VendorId, cfg: VendorConfig, io: SecretInputs): Promise<string | undefined> {
  if (!cfg.adminKeyRef) return undefined;
  return readSecret(parseSecretRef(cfg.adminKeyRef), io, `the ${vendor} admin key`);
}
