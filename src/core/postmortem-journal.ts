import { readJournal, type JournalEntry } from './journal.js';
import { parseAuditTime } from './damage/time.js';

export interface RevokeFacts {
  revoked_at: string | null;
  vault_key_ids: string[];
}

/** The first revoke in a journal: when it took effect (else when it was logged) and which keys. */
export function revokeFacts(entries: readonly JournalEntry[]): RevokeFacts {
  const rev = entries.find((e) => e.type === 'revoked');
  if (!rev) return { revoked_at: null, vault_key_ids: [] };
  const when = typeof rev.effective_at === 'string' && !Number.isNaN(parseAuditTime(rev.effective_at)) ? rev.effective_at : rev.at;
  const ids = Array.isArray(rev.vault_key_ids) ? rev.vault_key_ids.map(String) : typeof rev.vault_key_id === 'string' ? [rev.vault_key_id] : [];
  return { revoked_at: new Date(parseAuditTime(when)).toISOString(), vault_key_ids: ids };
}

export function revokeFromJournal(stateDir: string, id: string): RevokeFacts {
  return revokeFacts(readJournal(stateDir, id));
}
