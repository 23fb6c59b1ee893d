import type Database from 'better-sqlite3';
import { SEALED_COLUMNS } from './sealed-columns.js';

/**
 * What issue 14 adds to the SQLite store, applied on every start (idempotent): the sealed
 * production-key columns (a store written by an earlier version gains them; its plain-text
 * secrets are then sealed by the proxy at start) and the admin-audit table.
 */
const ADMIN_AUDIT = `
CREATE TABLE IF NOT EXISTS admin_audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  token_name TEXT NOT NULL,
  scope TEXT NOT NULL,
  action TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  targets TEXT,
  outcome TEXT NOT NULL,
  status INTEGER NOT NULL,
  remote_addr TEXT,
  forwarded_for TEXT,
  detail TEXT
);
CREATE INDEX IF NOT EXISTS admin_audit_at ON admin_audit (at);
`;

export function upgradeSqliteSchema(db: Database.Database): void {
  // Deleted and overwritten content is zeroed, so no old copy of a secret lingers in free space.
  db.pragma('secure_delete = ON');
  const have = new Set(
    (db.prepare(`PRAGMA table_info(upstream_keys)`).all() as Array<{ name: string }>).map((c) => c.name),
  );
  for (const col of SEALED_COLUMNS) if (!have.has(col)) db.exec(`ALTER TABLE upstream_keys ADD COLUMN ${col} TEXT`);
  db.exec(ADMIN_AUDIT);
}
