import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TourniquetError } from './errors.js';
import { inertJson } from './inert.js';

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
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `inc_${stamp}_${randomBytes(2).toString('hex')}`;
}

export const incidentsDir = (stateDir: string) => join(stateDir, 'incidents');

/**
 * Where the journal goes when its file cannot be written (a read-only or full disk): the action
 * comes first, so the run goes on and each entry is written here instead, as one JSON line.
 */
export type JournalFallback = (line: string) => void;

export class Journal {
  private seq: number;
  private readonly t0: number;
  /** Why the file could not be written, once it could not; entries then go to the fallback. */
  problem: string | undefined;
  /** Entries this process could only write to the fallback (the file has the rest). */
  private readonly unsaved: JournalEntry[] = [];

  private constructor(
    readonly id: string,
    readonly dir: string,
    entries: JournalEntry[],
    private readonly scrub: (s: string) => string,
    private readonly fallback: JournalFallback | undefined,
  ) {
    this.seq = entries.length;
    this.t0 = entries.length ? Date.parse(entries[0]!.at) : Date.now();
  }

  get file(): string {
    return join(this.dir, 'journal.jsonl');
  }

  /** A new incident's journal. Never throws for an unwritable state directory: see `problem`. */
  static create(
    stateDir: string,
    scrub: (s: string) => string = (s) => s,
    id = newIncidentId(),
    fallback?: JournalFallback,
  ): Journal {
    const dir = join(incidentsDir(stateDir), id);
    const journal = new Journal(id, dir, [], scrub, fallback);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      journal.fail(err);
    }
    return journal;
  }

  static open(
    stateDir: string,
    id: string,
    scrub: (s: string) => string = (s) => s,
    fallback?: JournalFallback,
  ): Journal {
    const entries = readJournal(stateDir, id);
    return new Journal(id, join(incidentsDir(stateDir), id), entries, scrub, fallback);
  }

  /** Append one entry and fsync it before returning; if the file cannot be written, to the fallback. */
  append(type: EntryType, fields: Record<string, unknown> = {}): JournalEntry {
    const now = Date.now();
    const entry: JournalEntry = {
      seq: ++this.seq,
      at: new Date(now).toISOString(),
      offset_ms: now - this.t0,
      type,
      ...fields,
    };
    const line = this.scrub(JSON.stringify(entry));
    if (this.problem === undefined) {
      try {
        writeSynced(this.file, line + '\n');
        return entry;
      } catch (err) {
        this.fail(err);
      }
    }
    this.unsaved.push(JSON.parse(line) as JournalEntry);
    if (!this.fallback)
      throw new TourniquetError('partial', `the journal of ${this.id} cannot be written: ${this.problem}`);
    this.fallback(this.scrub(inertJson({ incident_id: this.id, ...entry })));
    return entry;
  }

  entries(): JournalEntry[] {
    const saved = existsSync(this.file) ? parseJournal(readFileSync(this.file, 'utf8'), this.id) : [];
    return [...saved, ...this.unsaved];
  }

  private fail(err: unknown): void {
    const e = err as NodeJS.ErrnoException;
    this.problem ??= `${e.code ?? 'error'} writing ${e.path ?? this.file}${e.code ? '' : `: ${e.message}`}`;
  }
}

function writeSynced(file: string, text: string): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    appendFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
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
    throw new TourniquetError('not-found', `no incident ${id} in ${incidentsDir(stateDir)}`, {
      hint: 'list them with: tourniquet incidents',
    });
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
