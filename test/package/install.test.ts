import { beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/cli.js';
import { VERSION } from '../../src/main.js';

/**
 * The package as a user gets it: `npm pack`, then `npm install -g` into a temporary prefix,
 * once with npm's default settings (the install scripts run: better-sqlite3 is compiled) and
 * once with --ignore-scripts (what npm does with a dependency's install script it was not told
 * to allow). Then the installed command, from outside the repository, as the README says.
 * Offline-friendly: the dependencies come from the npm cache that `npm ci` filled.
 */
const run = promisify(execFile);
const npmEnv = {
  ...process.env,
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(
  file: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Result> {
  try {
    const r = await run(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? npmEnv,
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 64 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

let work: string;
let tarball: string;

/** A user's shell: its own HOME, config and state, started outside the repository. */
function userEnv(prefix: string): NodeJS.ProcessEnv {
  const home = mkdtempSync(join(work, 'home-'));
  return {
    PATH: `${join(prefix, 'bin')}:${process.env.PATH}`,
    HOME: home,
    TMPDIR: process.env.TMPDIR,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
  };
}

/**
 * On a user's machine better-sqlite3's install script (prebuild-install) downloads a prebuilt
 * binary from GitHub. CI reaches only the npm registry, so the binary this checkout compiled
 * stands in for that download, served by prebuild-install's own local-prebuilds setting: the
 * script still runs, as npm's defaults run it, without compiling SQLite for two minutes.
 */
function localPrebuild(): NodeJS.ProcessEnv {
  const version = JSON.parse(readFileSync(join(ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')).version;
  const dir = mkdtempSync(join(work, 'prebuilds-'));
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', [
    'czf',
    join(dir, name),
    '-C',
    join(ROOT, 'node_modules/better-sqlite3'),
    'build/Release/better_sqlite3.node',
  ]);
  return { npm_config_better_sqlite3_local_prebuilds: dir };
}

async function install(name: string, extra: string[]): Promise<string> {
  const prefix = join(work, name);
  const env = { ...npmEnv, ...(extra.includes('--ignore-scripts') ? {} : localPrebuild()) };
  const r = await sh('npm', ['install', '--global', '--prefix', prefix, '--prefer-offline', ...extra, tarball], {
    cwd: work,
    env,
    timeoutMs: 8 * 60_000,
  });
  expect(r.code, r.stderr).toBe(0);
  return prefix;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'tq-install-'));
  // dist/ is built by `npm test` before the tests start; rebuilding it here (prepack) would
  // pull it from under the test files running in parallel.
  const r = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT });
  expect(r.code, r.stderr).toBe(0);
  tarball = join(work, JSON.parse(r.stdout)[0].filename);
}, 120_000);

describe('the tarball', () => {
  it('carries the bundle, the playbooks and the docs, and no sources, tests or source maps', async () => {
    const list = (await sh('tar', ['tzf', tarball], { cwd: work })).stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/bin/tourniquet.js',
      'package/dist/main.js',
      'package/dist/catalog.json',
      'package/playbooks/vendors.yaml',
      'package/README.md',
      'package/docs/admin-api.md',
    ])
      expect(list, f).toContain(f);
    expect(
      list.filter(
        (f) => /^package\/(src|test|scripts)\//.test(f) || f.endsWith('.map') || f.endsWith('build-catalog.js'),
      ),
    ).toEqual([]);
    // No lifecycle script a user's npm would ask to allow: the bundle is built before packing.
    const pkg = JSON.parse((await sh('tar', ['xzf', tarball, '-O', 'package/package.json'], { cwd: work })).stdout);
    expect(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?install$|^prepare$/.test(s))).toEqual([]);
  });
});

describe.each([
  ['npm defaults', 'defaults', [] as string[]],
  ['install scripts skipped (--ignore-scripts)', 'no-scripts', ['--ignore-scripts']],
])('npm install -g from the tarball, %s', (_label, name, flags) => {
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  const tq = (args: string[], timeoutMs?: number) =>
    sh(join(prefix, 'bin', 'tourniquet'), args, { cwd: work, env, timeoutMs });
  const scripts = flags.length === 0;

  beforeAll(async () => {
    prefix = await install(name, flags);
    env = userEnv(prefix);
    // The binding is there exactly when the install scripts ran.
    expect(
      existsSync(
        join(prefix, 'lib/node_modules/tourniquet-cli/node_modules/better-sqlite3/build/Release/better_sqlite3.node'),
      ),
    ).toBe(scripts);
  }, 9 * 60_000);

  it('--version, scenarios and decide --json run from the installed command', async () => {
    expect((await tq(['--version'])).stdout.trim()).toBe(VERSION);
    const s = await tq(['scenarios']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toContain('runaway-loop');
    const d = await tq([
      'decide',
      '--scenario',
      'runaway-loop',
      '--vendor',
      'stripe',
      '--vault-key',
      'vk_id_demo',
      '--json',
    ]);
    expect(d.code, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout)).toMatchObject({ scenario: 'runaway-loop', action: 'revoke' });
  });

  it(`demo --auto --json runs to the end (${scripts ? 'SQLite' : 'the in-memory store'})`, async () => {
    const r = await tq(['demo', '--auto', '--json', '--tail-mode', 'median', '--time-scale', '0.02'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.incident.verified).toBe(true);
    expect(j.store).toBe(scripts ? 'sqlite' : 'memory');
    if (!scripts) expect(r.stderr).toMatch(/npm rebuild better-sqlite3 --prefix \S+tourniquet-cli/);
    expect(r.stderr).not.toMatch(/internal error|bug in tourniquet/);
  }, 150_000);

  it(`proxy serve on a SQLite file ${scripts ? 'starts' : 'says what to run (exit 1, never "a bug")'}`, async () => {
    const token = join(work, `token-${name}`);
    writeFileSync(token, 'a-long-enough-admin-token-for-tests', { mode: 0o600 });
    const db = join(work, `proxy-${name}.db`);
    const child = execFile(
      join(prefix, 'bin', 'tourniquet'),
      [
        'proxy',
        'serve',
        '--json',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${db}`,
        '--admin-token-file',
        token,
      ],
      { cwd: work, env },
    );
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', (c) => resolve(c));
      const poll = setInterval(() => {
        if (out.includes('admin_url')) {
          clearInterval(poll);
          child.kill('SIGTERM');
        }
      }, 50);
      child.on('exit', () => clearInterval(poll));
    });
    if (scripts) {
      expect(JSON.parse(out.split('\n')[0]!)).toHaveProperty('admin_url');
      expect(code).toBe(0);
      expect(existsSync(db)).toBe(true);
    } else {
      expect(code).toBe(1);
      expect(err).toMatch(/SQLite is not available here/);
      expect(err).toMatch(/npm rebuild better-sqlite3 --prefix \S+/);
      expect(err).not.toMatch(/internal error|bug in tourniquet/);
    }
  }, 60_000);
});

describe("the README's install section", () => {
  it('names the commands this test ran', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(
      readme.indexOf('## Install'),
      readme.indexOf('\n## ', readme.indexOf('## Install') + 1),
    );
    expect(section).toContain('npm install -g tourniquet-cli');
    expect(section).toContain('npx tourniquet-cli demo');
    expect(section).toContain('--allow-scripts=better-sqlite3');
  });
});
