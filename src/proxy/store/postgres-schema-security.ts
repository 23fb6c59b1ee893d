/**
 * Issue 14's PostgreSQL migrations, numbered from 101 so they never collide with the core
 * schema's own (postgres-schema.ts runs both lists under one advisory lock, in order).
 */
export const SECURITY_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 101,
    name: 'production keys sealed under a master key (envelope encryption); settings',
    sql: `
ALTER TABLE upstream_keys ADD COLUMN IF NOT EXISTS secret_ct text;
ALTER TABLE upstream_keys ADD COLUMN IF NOT EXISTS secret_dek text;
ALTER TABLE upstream_keys ADD COLUMN IF NOT EXISTS master_key_id text;
CREATE TABLE IF NOT EXISTS tourniquet_settings (k text PRIMARY KEY, v text NOT NULL);
`,
  },
  {
    version: 102,
    name: 'admin audit: who changed what, when, from where',
    sql: `
CREATE TABLE IF NOT EXISTS admin_audit (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  instance_id text NOT NULL,
  token_name text NOT NULL,
  scope text NOT NULL,
  action text NOT NULL,
  method text NOT NULL,
  path text NOT NULL,
  targets jsonb,
  outcome text NOT NULL,
  status integer NOT NULL,
  remote_addr text,
  forwarded_for text,
  detail jsonb
);
CREATE INDEX IF NOT EXISTS admin_audit_at ON admin_audit (at);
`,
  },
];
