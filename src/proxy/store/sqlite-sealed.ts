import type Database from 'better-sqlite3';
import { MasterKeyMissingError, type SecretSealer } from '../crypto/sealer.js';
import { sealedOf, tally, type SecretsAtRest } from './sealed-columns.js';
import { TxBuilder } from './sqlite-writer.js';
import type { Row } from './records.js';

type Db = Database.Database;

/** The store's current master key lives in `meta` (never the key: its id). */
export function storeMasterKeyId(db: Db): string | null {
  return (db.prepare(`SELECT v FROM meta WHERE k = 'master_key_id'`).get() as { v: string } | undefined)?.v ?? null;
}

const SET_KID = `INSERT INTO meta (k, v) VALUES ('master_key_id', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`;

export function sqliteSecretsAtRest(db: Db): SecretsAtRest {
  const rows = db.prepare(`SELECT master_key_id, secret IS NOT NULL AS plain FROM upstream_keys`).all() as Array<{
    master_key_id: string | null;
    plain: number;
  }>;
  return tally(rows, storeMasterKeyId(db));
}

/**
 * Read on the caller's connection, sealed here, written by the store's writer in one transaction.
 * Each update names the row's old state, so a row that changed in between is left for the next pass.
 */
export function sealPlaintextTx(db: Db, sealer: SecretSealer | null): { t: TxBuilder; count: number } | null {
  const rows = db
    .prepare(`SELECT id, vendor, secret FROM upstream_keys WHERE secret IS NOT NULL AND secret_ct IS NULL`)
    .all() as Row[];
  if (!rows.length) return null;
  if (!sealer) throw new MasterKeyMissingError();
  const kid = storeMasterKeyId(db);
  const t = new TxBuilder();
  for (const r of rows) {
    const s = sealer.seal(String(r.id), String(r.vendor), String(r.secret), kid);
    t.add(
      `UPDATE upstream_keys SET secret = NULL, secret_ct = ?, secret_dek = ?, master_key_id = ? WHERE id = ? AND secret = ?`,
      [s.ct, s.dek, s.kid, r.id, r.secret],
    );
  }
  t.add(SET_KID, [sealer.wrappingKey(kid).id]);
  return { t, count: rows.length };
}

/** Every data key not under the current master key, re-wrapped; the store's current follows. */
export function rewrapTx(db: Db, sealer: SecretSealer | null, limit: number): { t: TxBuilder; count: number } {
  if (!sealer) throw new MasterKeyMissingError();
  const current = sealer.wrappingKey(null).id;
  const rows = db
    .prepare(
      `SELECT id, secret_ct, secret_dek, master_key_id FROM upstream_keys WHERE secret_ct IS NOT NULL AND master_key_id <> ? LIMIT ?`,
    )
    .all(current, limit) as Row[];
  const t = new TxBuilder();
  let count = 0;
  for (const r of rows) {
    const next = sealer.rewrap(String(r.id), sealedOf(r)!);
    if (!next) continue;
    t.add(`UPDATE upstream_keys SET secret_dek = ?, master_key_id = ? WHERE id = ? AND secret_dek = ?`, [
      next.dek,
      next.kid,
      r.id,
      r.secret_dek,
    ]);
    count++;
  }
  t.add(SET_KID, [sealer.wrappingKey(null).id]);
  return { t, count };
}
