import type { RevokeResult, VaultKeyRecord } from './types.js';
import type { TxBuilder } from './sqlite-writer.js';
import { fromVaultKey } from './sqlite-rows.js';
import type { Row } from './records.js';

/** Vault-key writes of the SQLite store as transaction steps (run by the writer thread). */

/** The revision just bumped, inside the same transaction. */
export const REV = `(SELECT CAST(v AS INTEGER) FROM meta WHERE k = 'revision')`;
export const BUMP = `UPDATE meta SET v = CAST(v AS INTEGER) + 1 WHERE k = 'revision'`;
export const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export function addVaultKey(t: TxBuilder, rec: VaultKeyRecord): void {
  const { revision: _r, ...row } = fromVaultKey(rec, 0);
  const cols = Object.keys(row);
  t.add(BUMP);
  t.add(
    `INSERT INTO vault_keys (${cols.join(', ')}, revision) VALUES (${marks(cols.length)}, ${REV})`,
    Object.values(row),
  );
}

/** Steps: what the ids were before, the bump (only if one is still active), the flip, the revision. */
export function addRevoke(
  t: TxBuilder,
  ids: string[],
  at: string,
  mode: 'soft' | 'hard',
): { before: number; flipped: number; rev: number } {
  const q = marks(ids.length);
  const before = t.add(
    `SELECT id, status, revoked_at, revoke_mode, revision FROM vault_keys WHERE id IN (${q})`,
    ids,
    'all',
  );
  t.add(`${BUMP} AND EXISTS (SELECT 1 FROM vault_keys WHERE id IN (${q}) AND status <> 'revoked')`, ids);
  const flipped = t.add(
    `UPDATE vault_keys SET status = 'revoked', revoked_at = ?, revoke_mode = ?, revision = ${REV} WHERE id IN (${q}) AND status <> 'revoked' RETURNING id`,
    [at, mode, ...ids],
    'all',
  );
  const rev = t.add(`SELECT CAST(v AS INTEGER) AS v FROM meta WHERE k = 'revision'`, [], 'get');
  return { before, flipped, rev };
}

export function revokeResult(
  ids: string[],
  results: unknown[],
  at: { before: number; flipped: number; rev: number },
): RevokeResult {
  const out: RevokeResult = { revoked: [], already_revoked: [], not_found: [], previous: {} };
  const before = new Map((results[at.before] as Row[]).map((r) => [String(r.id), r]));
  const flipped = new Set((results[at.flipped] as Row[]).map((r) => String(r.id)));
  for (const id of new Set(ids)) {
    const b = before.get(id);
    if (!b) out.not_found.push(id);
    else if (flipped.has(id)) out.revoked.push(id);
    else {
      out.already_revoked.push(id);
      out.previous![id] = {
        revoked_at: (b.revoked_at as string | null) ?? null,
        revoke_mode: (b.revoke_mode as 'soft' | 'hard' | null) ?? null,
        revision: Number(b.revision),
      };
    }
  }
  if (out.revoked.length) out.revision = Number((results[at.rev] as { v: number }).v);
  return out;
}
