import type { JournalEntry } from './journal.js';
import type { DamageSummary } from './damage/types.js';
import { revokeFacts } from './postmortem-journal.js';
import { recommend, type Recommendation } from './postmortem-advice.js';
import { valueText } from './json.js';

export interface TimelineItem {
  offset_ms: number;
  at: string;
  what: string;
}

export interface Postmortem {
  incident_id: string;
  scenario: string | null;
  status: string;
  started_at: string | null;
  timeline: TimelineItem[];
  decision: { action: string; reason: string } | null;
  /** `by`: the admin token that revoked (its name), when the proxy said. */
  revoked: { at: string; vault_key_ids: string[]; by?: string } | null;
  damage: DamageSummary | null;
  /** Why there is no damage section, when there is none. */
  damage_note: string | null;
  recommendations: { prevent: Recommendation; faster: Recommendation };
}

const str = (v: unknown) => (v === undefined || v === null ? '' : valueText(v));

/** One journal entry as a timeline line, or null for the noise (a step starting). */
export function describeEntry(e: JournalEntry): string | null {
  switch (e.type) {
    case 'started':
      return `incident opened${e.command ? ` (tourniquet ${str(e.command)})` : ''}${e.scenario ? `, scenario ${str(e.scenario)}` : ''}`;
    case 'paged':
      return `paged${e.detail ? `: ${str(e.detail)}` : ''}`;
    case 'decided':
      return `decided: ${str(e.action)}${e.reason ? ` (${str(e.reason)})` : ''}`;
    case 'revoked': {
      const ids = Array.isArray(e.vault_key_ids) ? e.vault_key_ids.join(', ') : str(e.vault_key_id);
      return `revoked ${ids || 'vault key'}${e.by ? ` by ${str(e.by)}` : ''}${e.effective_at ? `, effective ${str(e.effective_at)}` : ''}`;
    }
    case 'verified':
      return `${e.ok === false ? 'verification FAILED' : 'verified'}${e.step ? ` (${str(e.step)})` : ''}${e.detail ? `: ${str(e.detail)}` : ''}`;
    case 'step': {
      if (e.phase === 'started') return null;
      const what = str(e.title || e.kind || e.step);
      if (e.phase === 'failed') return `step failed: ${what}: ${str(e.error)}`;
      const outcome = str(e.outcome || e.status || e.phase);
      return `${what}${e.target ? ` ${str(e.target)}` : ''}: ${outcome}${e.detail ? ` (${str(e.detail)})` : ''}`;
    }
    case 'note':
      return `note: ${str(e.text ?? e.detail ?? e.message)}`;
    case 'finished':
      return `finished: ${str(e.status)}${e.error ? ` (${str(e.error)})` : ''}`;
    default:
      return null;
  }
}

function decisionOf(entries: readonly JournalEntry[]): Postmortem['decision'] {
  const d = entries.find((e) => e.type === 'decided');
  if (d) return { action: str(d.action), reason: str(d.reason) };
  const started = entries.find((e) => e.type === 'started');
  if (!started?.command) return null;
  return {
    action: `tourniquet ${str(started.command)}`,
    reason: started.reason ? str(started.reason) : 'not recorded in the journal',
  };
}

/** The postmortem as data: the journal's timeline, the decision, the damage, two recommendations. */
export function buildPostmortem(
  id: string,
  entries: readonly JournalEntry[],
  damage: DamageSummary | null,
  damageNote: string | null,
): Postmortem {
  const started = entries.find((e) => e.type === 'started');
  const finished = [...entries].reverse().find((e) => e.type === 'finished');
  const rev = revokeFacts(entries);
  const timeline = entries.flatMap((e) => {
    const what = describeEntry(e);
    return what === null ? [] : [{ offset_ms: Number(e.offset_ms ?? 0), at: e.at, what }];
  });
  return {
    incident_id: id,
    scenario: started?.scenario ? str(started.scenario) : null,
    status: finished ? str(finished.status) : 'unfinished',
    started_at: entries[0]?.at ?? null,
    timeline,
    decision: decisionOf(entries),
    revoked: rev.revoked_at
      ? { at: rev.revoked_at, vault_key_ids: rev.vault_key_ids, ...(rev.by ? { by: rev.by } : {}) }
      : null,
    damage,
    damage_note: damageNote,
    recommendations: recommend(entries, damage, rev.revoked_at),
  };
}
