import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL cluster for tests: initdb into a temp dir, pg_ctl on a free port on
 * 127.0.0.1, trust auth; stop() and restart() for outage tests, destroy() removes it all.
 * As root the server runs as the `postgres` user (initdb refuses root).
 */
export interface PgCluster {
  url: string;
  port: number;
  dataDir: string;
  /** Stop the server (`-m fast` by default; `immediate` is a crash). */
  stop(mode?: 'fast' | 'immediate'): void;
  start(): void;
  destroy(): void;
}

/** The newest installed server's bin directory, or null. */
export function pgBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/**
 * Whether the PostgreSQL tests can run. Missing binaries skip the suite locally, but under
 * `CI` they are an error: CI installs them (`.ci/run`), so their absence is a broken setup.
 */
export function pgAvailable(): boolean {
  if (pgBinDir()) return true;
  if (process.env.CI)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (CI must install them: .ci/run)',
    );
  return false;
}

const isRoot = () => process.getuid?.() === 0;

function run(cmd: string, args: string[]): void {
  const res = isRoot()
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${res.status}): ${res.stderr || res.stdout}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ownByPostgres(dir: string): void {
  if (!isRoot()) return;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  chownSync(dir, uid, gid);
}

export interface PgOptions {
  /** fsync off (default) makes tests fast; a clean or immediate stop still loses no commit. */
  fsync?: boolean;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
}

export async function startPg(opts: PgOptions = {}): Promise<PgCluster> {
  const bin = pgBinDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin');
  const parent = mkdtempSync(join(tmpdir(), 'tq-pg-'));
  chmodSync(parent, 0o711); // the postgres user must traverse it
  const dataDir = join(parent, 'data');
  const sockDir = join(parent, 'sock');
  mkdirSync(dataDir, { mode: 0o700 });
  mkdirSync(sockDir, { mode: 0o700 });
  ownByPostgres(dataDir);
  ownByPostgres(sockDir);
  run(join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const settings: Record<string, string | number> = {
    fsync: opts.fsync ? 'on' : 'off',
    max_connections: 200,
    ...opts.settings,
  };
  const o = [
    `-c listen_addresses=127.0.0.1`,
    `-p ${port}`,
    `-k ${sockDir}`,
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ].join(' ');
  const log = join(parent, 'server.log');
  const cluster: PgCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    start: () =>
      run(join(bin, 'pg_ctl'), [
        '-D',
        dataDir,
        '-l',
        isRoot() ? join(dataDir, 'server.log') : log,
        '-o',
        o,
        '-w',
        '-t',
        '30',
        'start',
      ]),
    stop: (mode = 'fast') => run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', 'stop']),
    destroy: () => {
      try {
        run(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
      rmSync(parent, { recursive: true, force: true });
    },
  };
  try {
    cluster.start();
  } catch (err) {
    rmSync(parent, { recursive: true, force: true });
    throw err;
  }
  return cluster;
}
