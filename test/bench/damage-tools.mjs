// Helpers for the damage benchmark: tools it needs (installed here if missing), timed runs with
// peak memory, medians, and a throwaway PostgreSQL cluster kept under .data/ between runs.
import { spawnSync, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './_lib.mjs';

/** The newest installed PostgreSQL server's bin directory (as test/helpers/pg.ts finds it). */
const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  return join(root, versions.sort((a, b) => Number(b) - Number(a))[0] ?? '15', 'bin');
})();

/** jq, sqlite3, psql and GNU time from Debian: installed by the bench itself, never by hand. */
export function ensureTools() {
  const missing = [
    ['jq', 'jq'],
    ['sqlite3', 'sqlite3'],
    ['/usr/bin/time', 'time'],
    ['psql', 'postgresql-client'],
  ].filter(([bin]) => spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0);
  if (missing.length === 0) return;
  const pkgs = missing.map(([, pkg]) => pkg);
  process.stderr.write(`bench: installing ${pkgs.join(' ')} (apt-get)\n`);
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit' });
}

/** Run a command under GNU time: wall seconds (hrtime) and peak RSS (MB). Output is discarded. */
export function measure(cmd, args, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'TQ_RSS_KB=%M', cmd, ...args], {
    env: opts.env ?? process.env,
    input: opts.input,
    stdio: ['pipe', opts.stdout ?? 'ignore', 'pipe'],
    maxBuffer: 1 << 26,
    encoding: 'utf8',
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${String(r.stderr).slice(-2000)}`);
  const kb = Number(/TQ_RSS_KB=(\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { seconds, rssMB: kb / 1024, stdout: r.stdout };
}

export { median };

/** Run a and b alternately `runs` times (so machine noise hits both alike); medians of each. */
export function sideBySide(runs, a, b) {
  const ta = [];
  const tb = [];
  for (let i = 0; i < runs; i++) {
    ta.push(a());
    tb.push(b());
  }
  return {
    a: median(ta.map((m) => m.seconds)),
    b: median(tb.map((m) => m.seconds)),
    aRss: Math.max(...ta.map((m) => m.rssMB)),
    bRss: Math.max(...tb.map((m) => m.rssMB)),
  };
}

function asPostgres(cmd, args) {
  const root = process.getuid?.() === 0;
  const r = root
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
    : spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A PostgreSQL 15 cluster under dir (created once, reused), started on port; stop() when done. */
export function startCluster(dir, port) {
  if (!existsSync(join(PG_BIN, 'initdb'))) return null;
  const data = join(dir, 'pg');
  if (!existsSync(join(data, 'PG_VERSION'))) {
    chmodSync(dir, 0o711);
    mkdirSync(data, { recursive: true });
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres', data]);
    asPostgres(join(PG_BIN, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  }
  const sock = data;
  asPostgres(join(PG_BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(data, 'log'),
    '-o',
    `-c listen_addresses=127.0.0.1 -p ${port} -k ${sock} -c shared_buffers=512MB -c work_mem=64MB`,
    '-w',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    psql: (args, input) =>
      measure(
        'psql',
        [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-U',
          'postgres',
          '-d',
          'postgres',
          ...args,
        ],
        { input, stdout: 'pipe' },
      ),
    stop: () => asPostgres(join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']),
  };
}
