// Time to fail against a hostile admin API (test/helpers/hostile.ts): every networked command
// in every mode, as the built CLI (a child process) with --deadline 5s and timeout_ms 1000, then
// `revoke` against a hanging proxy with the default settings. The tests check the exit codes and
// that nothing hangs; this records how long each failure took, on this machine.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, bundle, median } from './_lib.mjs';

const BIN = join(ROOT, 'bin', 'tourniquet.js');
const RUNS = Number(process.env.TOURNIQUET_BENCH_HOSTILE_RUNS ?? 1);

function run(args, env) {
  return new Promise((resolve) => {
    const started = performance.now();
    const p = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'ignore'] });
    // A hang would show as this bench never finishing; cut it at a minute and say so.
    const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, ms: performance.now() - started });
    });
  });
}

export async function bench() {
  const dir = mkdtempSync(join(tmpdir(), 'tq-bench-hostile-'));
  await bundle(dir, { hostile: 'test/helpers/hostile.ts' });
  const { HOSTILE_MODES, HOSTILE_TOKEN, hostileCommands, startHostile } = await import(
    pathToFileURL(join(dir, 'hostile.js')).href
  );
  const newKey = join(dir, 'new-key.txt');
  writeFileSync(newKey, 'sk_test_' + 'n'.repeat(30) + '\n');
  const commands = hostileCommands(newKey);

  const envFor = (url, extra = {}) => {
    const home = mkdtempSync(join(dir, 'home-'));
    return {
      PATH: process.env.PATH,
      HOME: home,
      TOURNIQUET_CONFIG_DIR: join(home, 'c'),
      TOURNIQUET_STATE_DIR: join(home, 's'),
      TOURNIQUET_PROXY_URL: url,
      TOURNIQUET_ADMIN_TOKEN: HOSTILE_TOKEN,
      ...extra,
    };
  };
  const rows = [];
  for (const mode of HOSTILE_MODES) {
    const h = await startHostile(mode);
    try {
      for (const [name, args] of Object.entries(commands)) {
        const times = [];
        let code;
        for (let i = 0; i < RUNS; i++) {
          const r = await run(['--deadline', '5s', ...args], envFor(h.url, { TOURNIQUET_TIMEOUT_MS: '1000' }));
          times.push(r.ms);
          code = r.code;
        }
        rows.push({
          metric: `${mode} × ${name} (exit ${code})`,
          value: Math.round(median(times)),
          unit: 'ms',
          target: '< 5 s + start-up',
        });
      }
    } finally {
      await h.close();
    }
  }
  const hang = await startHostile('hang');
  try {
    const r = await run(commands.revoke, envFor(hang.url));
    rows.push({
      metric: `hang × revoke with default settings (timeout_ms 5000; exit ${r.code})`,
      value: Math.round(r.ms),
      unit: 'ms',
      target: 'within seconds',
    });
  } finally {
    await hang.close();
  }
  return {
    name: 'hostile admin API: time to fail',
    rows,
    note: `the built CLI as a child process (its ~0.3 s start included); median of ${RUNS} run(s) per case.`,
  };
}
