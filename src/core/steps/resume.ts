import type { Journal, JournalEntry } from '../journal.js';
import type { StepRun } from './types.js';
import { jsonText } from '../json.js';

/** What the journal says about one step: finished (and verified, if it has a verification). */
export interface JournaledStep {
  run?: StepRun;
  verified?: boolean;
  failed?: boolean;
}

/** Read a journal into per-step facts, so a resumed run skips what is done and keeps its outputs. */
export function journaledSteps(entries: JournalEntry[]): Map<string, JournaledStep> {
  const steps = new Map<string, JournaledStep>();
  for (const e of entries) {
    const key = typeof e.step === 'string' ? e.step : undefined;
    if (!key) continue;
    const s = steps.get(key) ?? {};
    if (e.type === 'step' && e.phase === 'finished') {
      s.run = {
        status: e.outcome as StepRun['status'],
        detail: jsonText(e.detail ?? ''),
        outputs: (e.outputs as Record<string, unknown>) ?? {},
      };
      s.failed = false;
    }
    if (e.type === 'step' && e.phase === 'failed') s.failed = true;
    if (e.type === 'verified') s.verified = e.ok === true;
    steps.set(key, s);
  }
  return steps;
}

/** The outputs of every finished step, merged in order: the state a resumed run starts from. */
export function stateFromJournal(entries: JournalEntry[]): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const s of journaledSteps(entries).values()) Object.assign(state, s.run?.outputs ?? {});
  return state;
}

/** The `started` entry carries the command and its parameters (no secrets): enough to rebuild the plan. */
export function startedEntry(
  entries: JournalEntry[],
): { command: string; params: Record<string, unknown> } | undefined {
  const e = entries.find((x) => x.type === 'started');
  if (!e || typeof e.command !== 'string') return undefined;
  return { command: e.command, params: (e.params as Record<string, unknown>) ?? {} };
}

/** A journal's entries; a journal nothing was written to yet has none. */
export function entriesOf(journal: Journal | undefined): JournalEntry[] {
  return journal ? journal.entries() : [];
}
