import type { UpstreamKeyRecord, VaultKeyRecord } from './types.js';
import type { SecretSealer } from '../crypto/sealer.js';
import { openedSecret } from './sealed-columns.js';
import { valueText } from '../../core/json.js';

/** A row as a driver returns it; both stores map rows to records here. */
export type Row = Record<string, unknown>;

/** A list column: JSON text in SQLite, an array in PostgreSQL. */
function decodeList(v: unknown): string[] | null {
  if (Array.isArray(v)) return v as string[];
  return typeof v === 'string' && v ? (JSON.parse(v) as string[]) : null;
}

export function toVaultKey(r: Row): VaultKeyRecord {
  const labels: VaultKeyRecord['labels'] = {};
  if (r.agent) labels.agent = valueText(r.agent);
  if (r.owner) labels.owner = valueText(r.owner);
  return {
    id: String(r.id),
    secret_hash: String(r.secret_hash),
    secret_hint: String(r.secret_hint),
    vendor: String(r.vendor),
    upstream_key_id: (r.upstream_key_id as string | null) ?? null,
    agent_run_id: (r.agent_run_id as string | null) ?? null,
    labels,
    allowed_endpoints: decodeList(r.allowed_endpoints),
    daily_usd_cap: (r.daily_usd_cap as number | null) ?? null,
    per_call_amount_cap: (r.per_call_amount_cap as number | null) ?? null,
    calls_per_minute: (r.calls_per_minute as number | null) ?? null,
    customer_id_path: (r.customer_id_path as string | null) ?? null,
    status: r.status === 'revoked' ? 'revoked' : 'active',
    created_at: String(r.created_at),
    expires_at: (r.expires_at as string | null) ?? null,
    revoked_at: (r.revoked_at as string | null) ?? null,
    revoke_mode: (r.revoke_mode as 'soft' | 'hard' | null) ?? null,
    rolled_from: (r.rolled_from as string | null) ?? null,
  };
}

/** A production-key row as a record, its secret opened from the sealed columns (null: from the config file, or not opened). */
export function toUpstreamKey(r: Row, sealer: SecretSealer | null): UpstreamKeyRecord {
  return {
    id: String(r.id),
    vendor: String(r.vendor),
    state: r.state as UpstreamKeyRecord['state'],
    hint: String(r.hint),
    label: (r.label as string | null) ?? null,
    account_sid: (r.account_sid as string | null) ?? null,
    secret: openedSecret(r, sealer),
    created_at: String(r.created_at),
    updated_at: String(r.updated_at),
  };
}
