import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Every temp file of a test run (config homes, journals, SQLite stores, PostgreSQL clusters,
 * sockets) goes under one directory, removed when the run ends: a run leaves nothing behind.
 * Workers and the child processes they spawn inherit TMPDIR. 0711: the postgres user must be
 * able to reach the clusters inside.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'tq-test-run-'));
  chmodSync(root, 0o711);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
