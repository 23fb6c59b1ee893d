import type { UpstreamKeyRecord, VaultKeyRecord } from './types.js';

/** Rows of the SQLite tables to and from the store's records. */
export type Row = Record<string, unknown>;

export function toVaultKey(r: Row): VaultKeyRecord {
  const labels: VaultKeyRecord['labels'] = {};
  if (r.agent) labels.agent = String(r.agent);
  if (r.owner) labels.owner = String(r.owner);
  return {
    id: String(r.id),
    secret_hash: String(r.secret_hash),
    secret_hint: String(r.secret_hint),
    vendor: String(r.vendor),
    upstream_key_id: (r.upstream_key_id as string | null) ?? null,
    agent_run_id: (r.agent_run_id as string | null) ?? null,
    labels,
    allowed_endpoints: r.allowed_endpoints ? (JSON.parse(String(r.allowed_endpoints)) as string[]) : null,
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

export function fromVaultKey(k: VaultKeyRecord, revision: number): Row {
  const { labels, allowed_endpoints, ...rest } = k;
  return {
    ...rest,
    agent: labels.agent ?? null,
    owner: labels.owner ?? null,
    allowed_endpoints: allowed_endpoints ? JSON.stringify(allowed_endpoints) : null,
    revision,
  };
}

export const stripRevision = (r: Row) => {
  const { revision: _r, ...rest } = r;
  return rest as unknown as UpstreamKeyRecord;
};

