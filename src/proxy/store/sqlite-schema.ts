/** Schema for the SQLite store. Column names follow the audit vocabulary (`agent_call_audit`). */
export const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
INSERT OR IGNORE INTO meta (k, v) VALUES ('revision', '0');

CREATE TABLE IF NOT EXISTS vault_keys (
  id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL UNIQUE,
  secret_hint TEXT NOT NULL,
  vendor TEXT NOT NULL,
  upstream_key_id TEXT,
  agent_run_id TEXT,
  agent TEXT,
  owner TEXT,
  allowed_endpoints TEXT,
  daily_usd_cap REAL,
  per_call_amount_cap REAL,
  calls_per_minute INTEGER,
  customer_id_path TEXT,
  status TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  revoke_mode TEXT,
  rolled_from TEXT,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS vault_keys_revision ON vault_keys (revision);

CREATE TABLE IF NOT EXISTS upstream_keys (
  id TEXT PRIMARY KEY,
  vendor TEXT NOT NULL,
  state TEXT NOT NULL,
  hint TEXT NOT NULL,
  label TEXT,
  account_sid TEXT,
  secret TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  revision INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS upstream_keys_revision ON upstream_keys (revision);

CREATE TABLE IF NOT EXISTS agent_call_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  vault_key_id TEXT,
  agent_run_id TEXT,
  customer_scope_id TEXT,
  vendor TEXT,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  policy_verdict TEXT NOT NULL,
  vendor_status INTEGER NOT NULL,
  cost_usd_parsed REAL,
  upstream_key_id TEXT,
  latency_ms REAL NOT NULL,
  instance_id TEXT NOT NULL,
  call_id TEXT,
  outcome TEXT NOT NULL DEFAULT 'complete',
  amount_usd_estimated REAL
);
CREATE INDEX IF NOT EXISTS audit_started ON agent_call_audit (started_at);
CREATE INDEX IF NOT EXISTS audit_key ON agent_call_audit (vault_key_id, started_at);
CREATE INDEX IF NOT EXISTS audit_run ON agent_call_audit (agent_run_id, started_at);

CREATE TABLE IF NOT EXISTS instances (
  instance_id TEXT PRIMARY KEY,
  data_plane_url TEXT NOT NULL,
  admin_url TEXT NOT NULL,
  started_at TEXT NOT NULL,
  last_sync_at TEXT NOT NULL
);
`;

/** Write-ahead audit (issue 10): columns a file from before it lacks, and the indexes on them. */
const WRITE_AHEAD_COLUMNS: ReadonlyArray<[string, string]> = [
  ['call_id', 'TEXT'],
  ['outcome', "TEXT NOT NULL DEFAULT 'complete'"],
  ['amount_usd_estimated', 'REAL'],
];

export const SQLITE_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS audit_call ON agent_call_audit (call_id);
CREATE INDEX IF NOT EXISTS audit_pending ON agent_call_audit (instance_id) WHERE outcome <> 'complete';
`;

/** Bring a file written by an earlier version up to this schema (adds columns; never rewrites rows). */
export function migrateSqlite(db: { prepare(sql: string): { all(): unknown[] }; exec(sql: string): unknown }): void {
  const have = new Set(
    (db.prepare(`PRAGMA table_info(agent_call_audit)`).all() as Array<{ name: string }>).map((c) => c.name),
  );
  for (const [name, decl] of WRITE_AHEAD_COLUMNS)
    if (!have.has(name)) db.exec(`ALTER TABLE agent_call_audit ADD COLUMN ${name} ${decl}`);
  db.exec(SQLITE_INDEXES);
}

export const AUDIT_COLUMNS = [
  'started_at',
  'finished_at',
  'vault_key_id',
  'agent_run_id',
  'customer_scope_id',
  'vendor',
  'method',
  'path',
  'policy_verdict',
  'vendor_status',
  'cost_usd_parsed',
  'upstream_key_id',
  'latency_ms',
  'instance_id',
  'call_id',
  'outcome',
  'amount_usd_estimated',
] as const;
