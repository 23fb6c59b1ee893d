import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('./fixtures/cli-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildProxy {
  child: ChildProcess;
  dataUrl: string;
  adminUrl: string;
  instanceId: string;
  /** The whole ready line (with `--workers`, also `workers`). */
  ready: Record<string, unknown>;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** `tourniquet proxy serve --json …` as a process of its own (the sources, through tsx), not yet waited on. */
export function proxyProcess(
  args: string[],
  env: Record<string, string | undefined>,
): ChildProcessByStdio<null, Readable, Readable> {
  return spawn(process.execPath, ['--import', 'tsx', FIXTURE, '--json', 'proxy', 'serve', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** `tourniquet proxy serve --json …` in a child process; resolves once it prints its URLs. */
export function spawnProxy(args: string[], env: Record<string, string | undefined>): Promise<ChildProxy> {
  const child = proxyProcess(args, env);
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      // Whole lines only: a chunk may end in the middle of the JSON line.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => l.startsWith('{'));
      if (!line) return;
      clearTimeout(timer);
      const ready = JSON.parse(line) as { data_plane_url: string; admin_url: string; instance_id: string };
      resolve({
        child,
        dataUrl: ready.data_plane_url,
        adminUrl: ready.admin_url,
        instanceId: ready.instance_id,
        ready,
        stderr: () => err,
        exited,
      });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited ${code}: ${err}`));
    });
  });
}
