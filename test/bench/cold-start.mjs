// Cold start of the 2am path, side by side with `node -e 0` in the same run (interleaved, so
// machine noise hits all three alike). Target: at most 1.5x node -e 0.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './_lib.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const home = mkdtempSync(join(tmpdir(), 'tq-bench-'));
const env = { PATH: process.env.PATH, HOME: home, TOURNIQUET_CONFIG_DIR: join(home, 'c'), TOURNIQUET_STATE_DIR: join(home, 's') };
const RUNS = Number(process.env.TOURNIQUET_BENCH_RUNS ?? 21);

const commands = {
  'node -e 0': ['-e', '0'],
  'tourniquet --help': [bin, '--help'],
  'tourniquet decide --scenario runaway-loop --vendor stripe --json': [bin, 'decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json'],
};


export async function bench() {
  const times = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const args of Object.values(commands)) spawnSync(process.execPath, args, { env }); // warm the page cache
  for (let i = 0; i < RUNS; i++) {
    for (const [name, args] of Object.entries(commands)) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      times[name].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const base = median(times['node -e 0']);
  const rows = Object.entries(times).map(([name, xs]) => {
    const value = median(xs);
    return name === 'node -e 0'
      ? { metric: `${name} (median of ${RUNS})`, value, unit: 'ms' }
      : { metric: `${name} (median of ${RUNS})`, value, unit: 'ms', baseline: base, ratio: value / base, target: '≤ 1.5x node -e 0' };
  });
  return { name: 'Cold start', rows };
}
