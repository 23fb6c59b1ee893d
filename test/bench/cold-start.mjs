// Cold start of the 2am path, side by side with `node -e 0` in the same run (interleaved, so
// machine noise hits all three alike). Target: at most 1.5x node -e 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './_lib.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'tq-bench-'));
const env = {
  PATH: process.env.PATH,
  HOME: home,
  TOURNIQUET_CONFIG_DIR: join(home, 'c'),
  TOURNIQUET_STATE_DIR: join(home, 's'),
};
const RUNS = Number(process.env.TOURNIQUET_BENCH_RUNS ?? 21);

const DECIDE = ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json'];
// The last two take the full CLI (commander and the registry), for scale: what the fast path saves.
const FULL = { TOURNIQUET_NO_FAST_PATH: '1' };
const commands = {
  'node -e 0': { args: ['-e', '0'] },
  'tourniquet --help': { args: [bin, '--help'], target: true },
  'tourniquet decide --scenario runaway-loop --vendor stripe --json': { args: [bin, ...DECIDE], target: true },
  'for scale: --help on the full CLI (TOURNIQUET_NO_FAST_PATH=1)': { args: [bin, '--help'], env: FULL },
  'for scale: decide --json on the full CLI': { args: [bin, ...DECIDE], env: FULL },
};

export async function bench() {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const c of Object.values(commands)) spawnSync(process.execPath, c.args, { env: { ...env, ...c.env } }); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, c] of Object.entries(commands)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, c.args, { env: { ...env, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const base = median(times['node -e 0']);
  const rows = Object.entries(times).map(([name, xs]) => {
    const value = median(xs);
    return name === 'node -e 0'
      ? { metric: `${name} (median of ${RUNS})`, value, unit: 'ms' }
      : {
          metric: `${name} (median of ${RUNS})`,
          value,
          unit: 'ms',
          baseline: base,
          ratio: value / base,
          target: commands[name].target ? '≤ 1.5x node -e 0' : undefined,
        };
  });
  rows.push({ metric: 'machine load (1-min average) at the end', value: loadavg()[0].toFixed(2), unit: '' });
  return { name: 'Cold start', rows };
}
