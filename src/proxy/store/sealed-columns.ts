import { MasterKeyMissingError, type SecretSealer } from '../crypto/sealer.js';
import type { Sealed } from '../crypto/envelope.js';
import type { UpstreamKeyRecord } from './types.js';
import type { Row } from './records.js';
import { valueText } from '../../core/json.js';

/**
 * How a production key's secret sits in `upstream_keys`, in both stores: never in `secret`
 * (kept, always NULL, so a store written by an earlier version can be migrated), but sealed
 * in `secret_ct` under a data key wrapped in `secret_dek` by master key `master_key_id`.
 */
export const SEALED_COLUMNS = ['secret_ct', 'secret_dek', 'master_key_id'] as const;

/** What stores with sealed production keys can do beyond ProxyStore (both of ours). */
export interface SealedSecretStore {
  /** Attach the sealer before any production key is read or written. */
  useSealer(sealer: SecretSealer): void;
  /** Plain-text secrets left by an earlier version, and data keys by master key. */
  secretsAtRest(): Promise<SecretsAtRest>;
  /** Seal the plain-text secrets an earlier version stored (and scrub their old copies). */
  sealPlaintextSecrets(): Promise<number>;
  /**
   * Re-wrap up to `limit` data keys that are not under the sealer's current master key (one
   * transaction), and make that key the store's current; 0 when none is left.
   */
  rewrapSecrets(limit: number): Promise<number>;
}

export interface SecretsAtRest {
  plaintext: number;
  /** master key id → sealed secrets under it. */
  by_master_key: Record<string, number>;
  /** The master key the store's rows were last wrapped with (the store's current), if any. */
  current: string | null;
}

export function isSealedSecretStore(s: object): s is SealedSecretStore {
  return typeof (s as Partial<SealedSecretStore>).rewrapSecrets === 'function';
}

export function sealedOf(r: Row): Sealed | null {
  return r.secret_ct && r.secret_dek && r.master_key_id
    ? { ct: valueText(r.secret_ct), dek: valueText(r.secret_dek), kid: valueText(r.master_key_id) }
    : null;
}

/** The sealed columns for a record about to be written (all NULL for a config-file key). */
export function sealedColumns(
  rec: UpstreamKeyRecord,
  sealer: SecretSealer | null,
  storeKid: string | null,
): Record<(typeof SEALED_COLUMNS)[number] | 'secret', string | null> {
  if (rec.secret === null) return { secret: null, secret_ct: null, secret_dek: null, master_key_id: null };
  if (!sealer) throw new MasterKeyMissingError();
  const s = sealer.seal(rec.id, rec.vendor, rec.secret, storeKid);
  return { secret: null, secret_ct: s.ct, secret_dek: s.dek, master_key_id: s.kid };
}

/** The secret of a row: opened from its sealed columns; a legacy plain-text value as is (until migrated). */
export function openedSecret(r: Row, sealer: SecretSealer | null): string | null {
  const s = sealedOf(r);
  if (s) return sealer ? sealer.open(String(r.id), String(r.vendor), s) : null;
  return (r.secret as string | null) ?? null;
}

/** Tally rows (`master_key_id`, plain) into SecretsAtRest. */
export function tally(
  rows: Array<{ master_key_id: string | null; plain: number | boolean }>,
  current: string | null,
): SecretsAtRest {
  const out: SecretsAtRest = { plaintext: 0, by_master_key: {}, current };
  for (const r of rows) {
    if (r.master_key_id) out.by_master_key[r.master_key_id] = (out.by_master_key[r.master_key_id] ?? 0) + 1;
    else if (r.plain) out.plaintext++;
  }
  return out;
}
