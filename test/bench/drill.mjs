// `tourniquet drill --sandbox`: the game day's own figures on this machine, over several runs.
// Time from the revoke call's return to the instance's first refusal, and calls that got past
// the key after the revoke returned (target 0), at 50 and 250 synthetic calls/s.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './_lib.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const RUNS = Number(process.env.TOURNIQUET_BENCH_DRILL_RUNS ?? 7);

function drill(rate) {
  const home = mkdtempSync(join(tmpdir(), 'tq-bench-drill-'));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    TOURNIQUET_CONFIG_DIR: join(home, 'c'),
    TOURNIQUET_STATE_DIR: join(home, 's'),
  };
  const r = spawnSync(
    process.execPath,
    [bin, 'drill', '--sandbox', '--json', '--rate', rate, '--warmup', '500ms', '--observe', '500ms'],
    { env, encoding: 'utf8' },
  );
  if (r.status !== 0 && r.status !== 7) throw new Error(`drill exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export async function bench() {
  const rows = [];
  for (const rate of ['50/s', '250/s']) {
    const runs = Array.from({ length: RUNS }, () => drill(rate));
    rows.push(
      {
        metric: `revoke call (admin API round trip), median of ${RUNS}, ${rate}`,
        value: median(runs.map((r) => r.revoke_call_ms)),
        unit: 'ms',
      },
      {
        metric: `revoke returned → first refused call, median of ${RUNS}, ${rate}`,
        value: median(runs.map((r) => r.max_time_to_refusal_ms)),
        unit: 'ms',
        target: '≤ one call gap',
      },
      {
        metric: `calls past the key after the revoke returned, total over ${RUNS} runs, ${rate}`,
        value: runs.reduce((n, r) => n + r.leaked_calls, 0),
        unit: 'calls',
        target: '0',
      },
    );
  }
  return {
    name: 'drill --sandbox',
    rows,
    note: 'one proxy instance on SQLite; the synthetic calls are answered by the proxy itself (endpoint not allowed), so the figure is the key check alone.',
  };
}
