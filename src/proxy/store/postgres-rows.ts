import pg from 'pg';
import type { AuditRow, InstanceInfo, VaultKeyRecord } from './types.js';
import { StoreUnavailableError, type StoreFailure } from './types.js';

import type { Row } from './records.js';

/** `2026-11-22 02:14:00.1+00` (session time zone UTC) → `2026-11-22T02:14:00.100Z`. */
export function pgTimeToIso(v: string): string {
  return new Date(v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')).toISOString();
}

/** Per-pool type parsers (never global: other code in the process reads PostgreSQL too). */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser(oid: number, format?: string): (v: string) => unknown {
    if (oid === 1184) return pgTimeToIso; // timestamptz → ISO string, like the SQLite store
    if (oid === 20 || oid === 1700) return (v: string) => Number(v); // bigint, numeric → number
    return pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown;
  },
};

export const VAULT_COLUMNS = [
  'id',
  'secret_hash',
  'secret_hint',
  'vendor',
  'upstream_key_id',
  'agent_run_id',
  'agent',
  'owner',
  'allowed_endpoints',
  'daily_usd_cap',
  'per_call_amount_cap',
  'calls_per_minute',
  'customer_id_path',
  'status',
  'created_at',
  'expires_at',
  'revoked_at',
  'revoke_mode',
  'rolled_from',
  'revision',
] as const;

export function vaultKeyValues(k: VaultKeyRecord, revision: number): unknown[] {
  const row: Record<string, unknown> = {
    ...k,
    agent: k.labels.agent ?? null,
    owner: k.labels.owner ?? null,
    allowed_endpoints: k.allowed_endpoints ? JSON.stringify(k.allowed_endpoints) : null,
    revision,
  };
  return VAULT_COLUMNS.map((c) => row[c] ?? null);
}

export const UPSTREAM_COLUMNS = [
  'id',
  'vendor',
  'state',
  'hint',
  'label',
  'account_sid',
  'secret',
  'secret_ct',
  'secret_dek',
  'master_key_id',
  'created_at',
  'updated_at',
  'revision',
] as const;

export function toAuditRow(r: Row): AuditRow {
  return { ...(r as unknown as AuditRow), id: Number(r.id) };
}

export function toInstance(r: Row): InstanceInfo & { revision: number } {
  return {
    instance_id: String(r.instance_id),
    data_plane_url: String(r.data_plane_url),
    admin_url: String(r.admin_url),
    started_at: String(r.started_at),
    last_sync_at: String(r.last_sync_at),
    revision: Number(r.revision ?? 0),
  };
}

/**
 * SQLSTATEs that mean "the database cannot do it now" rather than "the query is wrong": connection
 * exceptions (08), insufficient resources (53: disk full, out of memory, too many connections),
 * operator intervention (57: shutdown, statement timeout), a read-only standby after a failover
 * (25006), a lock not available (55P03), system errors (58).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58|25006|55P03)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string' && (UNAVAILABLE_SQLSTATE.test(e.code) || UNAVAILABLE_ERRNO.has(e.code))) return true;
  return /Connection terminated|timeout exceeded|Client has encountered a connection error|not queryable|Query read timeout/i.test(
    e?.message ?? '',
  );
}

function reasonOf(err: unknown): StoreFailure {
  const e = err as { code?: string; message?: string };
  if (e?.code === '53100') return 'disk_full';
  if (e?.code === '57014' || e?.code === '55P03' || /timeout/i.test(e?.message ?? '')) return 'timeout';
  return 'unavailable';
}

/** Map connection-level failures to StoreUnavailableError (the proxy answers 503); rethrow the rest. */
export function unavailable(err: unknown): never {
  if (err instanceof StoreUnavailableError) throw err;
  if (isUnavailable(err))
    throw new StoreUnavailableError(`PostgreSQL unavailable: ${(err as Error).message}`, {
      cause: err,
      reason: reasonOf(err),
    });
  throw err;
}
