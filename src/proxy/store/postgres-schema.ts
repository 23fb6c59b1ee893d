import type pg from 'pg';
import { SECURITY_MIGRATIONS } from './postgres-schema-security.js';
import { BUDGET_MIGRATIONS } from './postgres-budget.js';

/**
 * Schema for the PostgreSQL store, as numbered migrations. `migrate` runs them under a
 * session-level advisory lock, so any number of instances can start at once: one applies,
 * the others wait on the lock, then find nothing left to do.
 */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'vault keys, production keys, revision, audit, instances',
    sql: `
CREATE TABLE IF NOT EXISTS tourniquet_meta (
  id int PRIMARY KEY CHECK (id = 1),
  revision bigint NOT NULL
);
INSERT INTO tourniquet_meta (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS vault_keys (
  id text PRIMARY KEY,
  secret_hash text NOT NULL UNIQUE,
  secret_hint text NOT NULL,
  vendor text NOT NULL,
  upstream_key_id text,
  agent_run_id text,
  agent text,
  owner text,
  allowed_endpoints jsonb,
  daily_usd_cap double precision,
  per_call_amount_cap double precision,
  calls_per_minute integer,
  customer_id_path text,
  status text NOT NULL,
  created_at text NOT NULL,
  expires_at text,
  revoked_at text,
  revoke_mode text,
  rolled_from text,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS vault_keys_revision ON vault_keys (revision);

CREATE TABLE IF NOT EXISTS upstream_keys (
  id text PRIMARY KEY,
  vendor text NOT NULL,
  state text NOT NULL,
  hint text NOT NULL,
  label text,
  account_sid text,
  secret text,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  revision bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS upstream_keys_revision ON upstream_keys (revision);

CREATE TABLE IF NOT EXISTS agent_call_audit (
  id bigserial PRIMARY KEY,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  vault_key_id text,
  agent_run_id text,
  customer_scope_id text,
  vendor text,
  method text NOT NULL,
  path text NOT NULL,
  policy_verdict text NOT NULL,
  vendor_status integer NOT NULL,
  cost_usd_parsed double precision,
  upstream_key_id text,
  latency_ms double precision NOT NULL,
  instance_id text NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_started ON agent_call_audit (started_at);
CREATE INDEX IF NOT EXISTS audit_key ON agent_call_audit (vault_key_id, started_at);
CREATE INDEX IF NOT EXISTS audit_run ON agent_call_audit (agent_run_id, started_at);
CREATE INDEX IF NOT EXISTS audit_customer ON agent_call_audit (customer_scope_id, started_at);

CREATE TABLE IF NOT EXISTS proxy_instances (
  instance_id text PRIMARY KEY,
  data_plane_url text NOT NULL,
  admin_url text NOT NULL,
  started_at text NOT NULL,
  last_sync_at text NOT NULL,
  revision bigint NOT NULL DEFAULT 0,
  heartbeat_at timestamptz NOT NULL DEFAULT now()
);
`,
  },
  {
    version: 2,
    name: 'write-ahead audit: call_id, outcome, amount_usd_estimated',
    sql: `
ALTER TABLE agent_call_audit ADD COLUMN IF NOT EXISTS call_id text;
ALTER TABLE agent_call_audit ADD COLUMN IF NOT EXISTS outcome text NOT NULL DEFAULT 'complete';
ALTER TABLE agent_call_audit ADD COLUMN IF NOT EXISTS amount_usd_estimated double precision;
CREATE UNIQUE INDEX IF NOT EXISTS audit_call ON agent_call_audit (call_id);
CREATE INDEX IF NOT EXISTS audit_pending ON agent_call_audit (instance_id) WHERE outcome <> 'complete';
`,
  },
];

/** The core schema's migrations, then issue 14's (101+: sealed keys, admin audit, budget grants). */
export const allMigrations = () => [...MIGRATIONS, ...SECURITY_MIGRATIONS, ...BUDGET_MIGRATIONS];

/** Any fixed 64-bit number; only tourniquet's migrations take this lock. */
const MIGRATION_LOCK = 7_301_994_210_042;

export async function migrate(client: pg.ClientBase): Promise<number[]> {
  const applied: number[] = [];
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS tourniquet_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM tourniquet_migrations')).rows.map((r) => r.version),
    );
    for (const m of allMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO tourniquet_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.version);
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
  }
  return applied;
}
