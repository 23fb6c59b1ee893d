import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TourniquetError } from './errors.js';

/**
 * An incident's journal: append-only JSON lines in
 * `<state_dir>/incidents/<incident-id>/journal.jsonl`, each flushed to disk (fsync)
 * before the next step starts, so a run killed at any point can be resumed and written up.
 * Secrets never go in: callers pass ids and redacted hints, and every line is scrubbed.
 */
export type EntryType = 'started' | 'paged' | 'decided' | 'step' | 'verified' | 'revoked' | 'note' | 'finished';

export interface JournalEntry {
  seq: number;
  at: string; // ISO-8601 UTC
  offset_ms: number; // from the incident's t=0
  type: EntryType;
  [field: string]: unknown;
}

export interface IncidentInfo {
  id: string;
  dir: string;
  started_at: string;
  scenario?: string;
  status: string;
  entries: number;
}

const ID_PATTERN = /^inc_\d{8}T\d{6}Z_[0-9a-f]{4}$/;

export function newIncidentId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `inc_${stamp}_${randomBytes(2).toString('hex')}`;
}

export const incidentsDir = (stateDir: string) => join(stateDir, 'incidents');

export class Journal {
  private seq: number;
  private readonly t0: number;

  private constructor(
    readonly id: string,
    readonly dir: string,
    entries: JournalEntry[],
    private readonly scrub: (s: string) => string,
  ) {
    this.seq = entries.length;
    this.t0 = entries.length ? Date.parse(entries[0]!.at) : Date.now();
  }

  get file(): string {
    return join(this.dir, 'journal.jsonl');
  }

  static create(stateDir: string, scrub: (s: string) => string = (s) => s, id = newIncidentId()): Journal {
    const dir = join(incidentsDir(stateDir), id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return new Journal(id, dir, [], scrub);
  }

  static open(stateDir: string, id: string, scrub: (s: string) => string = (s) => s): Journal {
    const entries = readJournal(stateDir, id);
    return new Journal(id, join(incidentsDir(stateDir), id), entries, scrub);
  }

  /** Append one entry and fsync it before returning. */
  append(type: EntryType, fields: Record<string, unknown> = {}): JournalEntry {
    const now = Date.now();
    const entry: JournalEntry = { seq: ++this.seq, at: new Date(now).toISOString(), offset_ms: now - this.t0, type, ...fields };
    const fd = openSync(this.file, 'a', 0o600);
    try {
      appendFileSync(fd, this.scrub(JSON.stringify(entry)) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return entry;
  }

  entries(): JournalEntry[] {
    return parseJournal(readFileSync(this.file, 'utf8'), this.id);
  }
}

export function parseJournal(text: string, id: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch {
      // A torn last line is what a kill mid-write leaves; anything earlier is corruption.
      if (i < lines.length - 2) throw new TourniquetError('usage', `journal of ${id} is corrupt at line ${i + 1}`);
    }
  });
  return entries;
}

export function readJournal(stateDir: string, id: string): JournalEntry[] {
  if (!ID_PATTERN.test(id) && id.includes('/')) throw new TourniquetError('usage', `"${id}" is not an incident id`);
  const file = join(incidentsDir(stateDir), id, 'journal.jsonl');
  if (!existsSync(file))
    throw new TourniquetError('not-found', `no incident ${id} in ${incidentsDir(stateDir)}`, { hint: 'list them with: tourniquet incidents' });
  return parseJournal(readFileSync(file, 'utf8'), id);
}

/** Incidents, newest first. */
export function listIncidents(stateDir: string): IncidentInfo[] {
  const root = incidentsDir(stateDir);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'journal.jsonl')))
    .map((id) => {
      const entries = readJournal(stateDir, id);
      const started = entries.find((e) => e.type === 'started');
      const finished = [...entries].reverse().find((e) => e.type === 'finished');
      return {
        id,
        dir: join(root, id),
        started_at: entries[0]?.at ?? '',
        scenario: started?.scenario as string | undefined,
        status: (finished?.status as string | undefined) ?? 'unfinished',
        entries: entries.length,
      };
    })
    .sort((a, b) => b.started_at.localeCompare(a.started_at));
}
