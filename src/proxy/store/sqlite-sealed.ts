import type Database from 'better-sqlite3';
import type { SecretSealer } from '../crypto/sealer.js';
import { sealedOf, tally, type SecretsAtRest } from './sealed-columns.js';
import type { Row } from './records.js';

type Db = Database.Database;

/** The store's current master key lives in `meta` (never the key: its id). */
export function storeMasterKeyId(db: Db): string | null {
  return (db.prepare(`SELECT v FROM meta WHERE k = 'master_key_id'`).get() as { v: string } | undefined)?.v ?? null;
}

function setStoreMasterKeyId(db: Db, kid: string): void {
  db.prepare(`INSERT INTO meta (k, v) VALUES ('master_key_id', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`).run(kid);
}

export function sqliteSecretsAtRest(db: Db): SecretsAtRest {
  const rows = db.prepare(`SELECT master_key_id, secret IS NOT NULL AS plain FROM upstream_keys`).all() as Array<{ master_key_id: string | null; plain: number }>;
  return tally(rows, storeMasterKeyId(db));
}

/**
 * Seal what an earlier version stored in plain text, in one transaction, then rebuild the file
 * (VACUUM) and empty the WAL, so no copy of the old plain text survives in free pages or the log.
 */
export function sqliteSealPlaintext(db: Db, sealer: SecretSealer): number {
  const n = db.transaction(() => {
    const rows = db.prepare(`SELECT id, vendor, secret FROM upstream_keys WHERE secret IS NOT NULL AND secret_ct IS NULL`).all() as Row[];
    const kid = storeMasterKeyId(db);
    const upd = db.prepare(`UPDATE upstream_keys SET secret = NULL, secret_ct = ?, secret_dek = ?, master_key_id = ? WHERE id = ?`);
    for (const r of rows) {
      const s = sealer.seal(String(r.id), String(r.vendor), String(r.secret), kid);
      upd.run(s.ct, s.dek, s.kid, r.id);
    }
    if (rows.length) setStoreMasterKeyId(db, sealer.wrappingKey(kid).id);
    return rows.length;
  }).immediate();
  if (n > 0) {
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return n;
}

/** Every data key under the current master key, in one transaction; the store's current follows. */
export function sqliteRewrap(db: Db, sealer: SecretSealer): number {
  const n = db.transaction(() => {
    const rows = db.prepare(`SELECT id, secret_ct, secret_dek, master_key_id FROM upstream_keys WHERE secret_ct IS NOT NULL`).all() as Row[];
    const upd = db.prepare(`UPDATE upstream_keys SET secret_dek = ?, master_key_id = ? WHERE id = ?`);
    let changed = 0;
    for (const r of rows) {
      const next = sealer.rewrap(String(r.id), sealedOf(r)!);
      if (next) (upd.run(next.dek, next.kid, r.id), changed++);
    }
    setStoreMasterKeyId(db, sealer.wrappingKey(null).id);
    return changed;
  }).immediate();
  // The old wrappings are useless without the old key, but keep the log from holding them anyway.
  db.pragma('wal_checkpoint(TRUNCATE)');
  return n;
}
