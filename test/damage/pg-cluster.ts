import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  url: string;
  stop(): void;
}

export const pgAvailable = () => existsSync(join(BIN, 'initdb'));

/** Run as the postgres user when we are root (initdb refuses root). */
function asPg(cmd: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const res = root ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' }) : spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`${cmd} failed: ${res.stderr || res.stdout}`);
}

/** A throwaway PostgreSQL 15 cluster on 127.0.0.1, trust auth, removed by stop(). */
export function startPg(port = 20000 + Math.floor(Math.random() * 20000)): PgCluster {
  const parent = mkdtempSync(join(tmpdir(), 'tq-pg-'));
  chmodSync(parent, 0o711);
  const data = join(parent, 'data');
  if (process.getuid?.() === 0) {
    execFileSync('mkdir', ['-p', data]);
    execFileSync('chown', ['postgres', data]);
  }
  asPg(join(BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  asPg(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(data, 'log'), '-o', `-c listen_addresses=127.0.0.1 -p ${port} -k ${data} -c fsync=off`, '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        asPg(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(parent, { recursive: true, force: true });
      }
    },
  };
}
