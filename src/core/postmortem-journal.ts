import type { JournalEntry } from './journal.js';
import { parseAuditTime } from './damage/time.js';
import type { DamageQuery } from './damage/types.js';

export interface RevokeFacts {
  revoked_at: string | null;
  vault_key_ids: string[];
  /** The admin token that revoked, by name. */
  by: string | null;
}

/** The first revoke in a journal: when it took effect (else when it was logged) and which keys. */
export function revokeFacts(entries: readonly JournalEntry[]): RevokeFacts {
  const rev = entries.find((e) => e.type === 'revoked');
  if (!rev) return { revoked_at: null, vault_key_ids: [], by: null };
  const when =
    typeof rev.effective_at === 'string' && !Number.isNaN(parseAuditTime(rev.effective_at)) ? rev.effective_at : rev.at;
  const ids = Array.isArray(rev.vault_key_ids)
    ? rev.vault_key_ids.map(String)
    : typeof rev.vault_key_id === 'string'
      ? [rev.vault_key_id]
      : [];
  return {
    revoked_at: new Date(parseAuditTime(when)).toISOString(),
    vault_key_ids: ids,
    by: typeof rev.by === 'string' ? rev.by : null,
  };
}

/** After the last journal entry, keep counting this long: the revoked agent's knocks. */
export const AFTER_LAST_ENTRY_MS = 5 * 60_000;

/**
 * The damage query for an incident: from `lookbackMs` before t=0 to a few minutes after its
 * last entry, the revoke time from the journal, and the vault key when exactly one was revoked.
 */
export function incidentQuery(entries: readonly JournalEntry[], lookbackMs: number): DamageQuery {
  const t0 = Date.parse(entries[0]!.at);
  const last = Date.parse(entries[entries.length - 1]!.at);
  const rev = revokeFacts(entries);
  const q: DamageQuery = { from: t0 - lookbackMs, to: last + AFTER_LAST_ENTRY_MS };
  if (rev.revoked_at) q.revoked_at = Date.parse(rev.revoked_at);
  if (rev.vault_key_ids.length === 1) q.vault_key_id = rev.vault_key_ids[0];
  return q;
}

/** The audit source an incident's journal names (the demo keeps its rows beside its journal), if any. */
export function journalAuditSource(entries: readonly JournalEntry[]): string | undefined {
  const e = [...entries].reverse().find((x) => typeof x.audit_source === 'string');
  return e?.audit_source as string | undefined;
}
