import type pg from 'pg';
import type { SecretSealer } from '../crypto/sealer.js';
import { sealedOf, tally, type SecretsAtRest } from './sealed-columns.js';
import type { Row } from './records.js';

type Client = Pick<pg.ClientBase, 'query'>;

/** The store's current master key (its id, never the key), from `tourniquet_settings`. */
export async function pgStoreMasterKeyId(c: Client): Promise<string | null> {
  const r = await c.query<{ v: string }>(`SELECT v FROM tourniquet_settings WHERE k = 'master_key_id'`);
  return r.rows[0]?.v ?? null;
}

async function setKid(c: Client, kid: string): Promise<void> {
  await c.query(
    `INSERT INTO tourniquet_settings (k, v) VALUES ('master_key_id', $1) ON CONFLICT (k) DO UPDATE SET v = excluded.v`,
    [kid],
  );
}

export async function pgSecretsAtRest(c: Client): Promise<SecretsAtRest> {
  const rows = (
    await c.query<{ master_key_id: string | null; plain: boolean }>(
      `SELECT master_key_id, secret IS NOT NULL AS plain FROM upstream_keys`,
    )
  ).rows;
  return tally(rows, await pgStoreMasterKeyId(c));
}

/** Write sealed values for many rows in one statement. */
async function writeSealed(c: Client, ids: string[], cts: string[], deks: string[], kids: string[]): Promise<void> {
  if (!ids.length) return;
  await c.query(
    `UPDATE upstream_keys u SET secret = NULL, secret_ct = v.ct, secret_dek = v.dek, master_key_id = v.kid
     FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(id, ct, dek, kid) WHERE u.id = v.id`,
    [ids, cts, deks, kids],
  );
}

/** Inside the caller's transaction (which holds the revision lock, so no key writer interleaves). */
export async function pgSealPlaintext(c: Client, sealer: SecretSealer): Promise<number> {
  const rows = (
    await c.query<Row>(
      `SELECT id, vendor, secret FROM upstream_keys WHERE secret IS NOT NULL AND secret_ct IS NULL FOR UPDATE`,
    )
  ).rows;
  const kid = await pgStoreMasterKeyId(c);
  const sealed = rows.map((r) => sealer.seal(String(r.id), String(r.vendor), String(r.secret), kid));
  await writeSealed(
    c,
    rows.map((r) => String(r.id)),
    sealed.map((s) => s.ct),
    sealed.map((s) => s.dek),
    sealed.map((s) => s.kid),
  );
  if (rows.length) await setKid(c, sealer.wrappingKey(kid).id);
  return rows.length;
}

export async function pgRewrap(c: Client, sealer: SecretSealer, limit: number): Promise<number> {
  const current = sealer.wrappingKey(null).id;
  const rows = (
    await c.query<Row>(
      `SELECT id, secret_ct, secret_dek, master_key_id FROM upstream_keys WHERE secret_ct IS NOT NULL AND master_key_id <> $1 LIMIT $2 FOR UPDATE`,
      [current, limit],
    )
  ).rows;
  const ids: string[] = [];
  const cts: string[] = [];
  const deks: string[] = [];
  const kids: string[] = [];
  for (const r of rows) {
    const next = sealer.rewrap(String(r.id), sealedOf(r)!);
    if (!next) continue;
    ids.push(String(r.id));
    cts.push(next.ct);
    deks.push(next.dek);
    kids.push(next.kid);
  }
  await writeSealed(c, ids, cts, deks, kids);
  await setKid(c, sealer.wrappingKey(null).id);
  return ids.length;
}
