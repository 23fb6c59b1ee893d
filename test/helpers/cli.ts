import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/main.js';
import type { Io } from '../../src/cli/io.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'tourniquet.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A fresh, empty config and state directory, so tests never read the developer's profile. */
export function isolatedEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const home = mkdtempSync(join(tmpdir(), 'tq-home-'));
  return {
    PATH: process.env.PATH,
    TMPDIR: process.env.TMPDIR,
    HOME: home,
    TOURNIQUET_CONFIG_DIR: join(home, 'config'),
    TOURNIQUET_STATE_DIR: join(home, 'state'),
    ...extra,
  };
}

/**
 * Every CLI run of the suite is checked for "internal error" (a bug reported as one): each is
 * tallied in the run's file, and the global teardown fails the run when the count is not 0
 * (test/global-setup.ts). Bad input gets a clear error, never "this is a bug".
 */
export function tallyInternalErrors(args: readonly string[], r: CliResult): CliResult {
  const file = process.env.TOURNIQUET_TEST_INTERNAL_ERRORS;
  if (file && /internal error/.test(r.stdout + r.stderr))
    appendFileSync(file, `${JSON.stringify({ args, stderr: r.stderr.slice(0, 500) })}\n`);
  return r;
}

/** The whole CLI in-process, stdout and stderr captured (like wrangler's runWrangler). */
export async function runInProcess(
  args: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (s: string) => ((stdout += s), true), isTTY: false },
    stderr: { write: (s: string) => ((stderr += s), true), isTTY: false },
    stdin: Readable.from(opts.stdin === undefined ? [] : [opts.stdin]) as Io['stdin'],
    env: opts.env ?? isolatedEnv(),
    cwd: ROOT,
  };
  const code = await main(args, io);
  return tallyInternalErrors(args, { code, stdout, stderr });
}

/** The built CLI as a child process (bin/tourniquet.js → dist/), as a script would run it. */
export function runBuilt(
  args: string[],
  opts: { env?: Record<string, string | undefined>; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: opts.env ?? isolatedEnv(),
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 15000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(tallyInternalErrors(args, { code: code ?? (signal ? 128 : 1), stdout, stderr }));
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
