import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Every temp file of a test run (config homes, journals, SQLite stores, PostgreSQL clusters,
 * sockets) goes under one directory, removed when the run ends: a run leaves nothing behind.
 * Workers and the child processes they spawn inherit TMPDIR. 0711: the postgres user must be
 * able to reach the clusters inside.
 */
export default function setup(): () => void {
  // The CLI tests run the built bundle; `npm test` builds it, a bare `npx vitest` after
  // `npm ci` (which no longer builds: no install-time script) finds none.
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(join(root, 'dist', 'main.js')))
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { stdio: 'inherit' });
  const temp = mkdtempSync(join(tmpdir(), 'tq-test-run-'));
  chmodSync(temp, 0o711);
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = temp;
  // Where every CLI run that printed "internal error" is tallied (test/helpers/cli.ts).
  const tally = join(temp, 'internal-errors.jsonl');
  process.env.TOURNIQUET_TEST_INTERNAL_ERRORS = tally;
  return () => {
    const found = existsSync(tally) ? readFileSync(tally, 'utf8').trim().split('\n').filter(Boolean) : [];
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(temp, { recursive: true, force: true });
    process.stdout.write(`internal errors across the suite's CLI runs: ${found.length}\n`);
    if (found.length) process.exitCode = 1;
    if (found.length)
      throw new Error(
        `${found.length} CLI run(s) printed "internal error" (a bug where a clear error belongs):\n${found.join('\n')}`,
      );
  };
}
