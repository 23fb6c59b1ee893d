// The 02:14 experience, measured: the whole `tourniquet demo` (built CLI, as the README runs it)
// several times with the seed-002 tail distribution, once at the p95 tail; and how fast the
// guided incident puts something on screen (target 200 ms) against a running proxy.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { median } from './_lib.mjs';

const bin = fileURLToPath(new URL('../../bin/tourniquet.js', import.meta.url));
const RUNS = Number(process.env.TOURNIQUET_BENCH_DEMO_RUNS ?? 5);

function isolated(extra = {}) {
  const home = mkdtempSync(join(tmpdir(), 'tq-bench-demo-'));
  return {
    PATH: process.env.PATH,
    HOME: home,
    TOURNIQUET_CONFIG_DIR: join(home, 'c'),
    TOURNIQUET_STATE_DIR: join(home, 's'),
    ...extra,
  };
}

/** Spawn the CLI; resolve with exit code, stdout, and when stderr first showed each pattern. */
function runCli(args, env, marks = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, ...args], { env });
    let out = '';
    let err = '';
    const seen = {};
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      for (const [k, re] of Object.entries(marks))
        if (seen[k] === undefined && re.test(err)) seen[k] = performance.now() - t0;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err, ms: performance.now() - t0, seen }));
  });
}

async function demoRuns() {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await runCli(['demo', '--json'], isolated());
    if (r.code !== 0) throw new Error(`demo exited ${r.code}: ${r.err.slice(-500)}`);
    runs.push({ ...JSON.parse(r.out), wall_ms: r.ms });
  }
  const p95 = await runCli(['demo', '--json', '--tail-mode', 'p95'], isolated());
  if (p95.code !== 0) throw new Error(`demo --tail-mode p95 exited ${p95.code}`);
  return { runs, p95: { ...JSON.parse(p95.out), wall_ms: p95.ms } };
}

async function firstScreen() {
  const { startStage } = await tsImport('../../src/core/demo/stage.ts', import.meta.url);
  const stage = await startStage({ timeScale: 0.001, tailMode: 'median' });
  try {
    const header = [];
    const health = [];
    const node = [];
    for (let i = 0; i < 11; i++) {
      const t0 = performance.now();
      await new Promise((resolve) => spawn(process.execPath, ['-e', '0']).on('close', resolve));
      node.push(performance.now() - t0);
      // No terminal and no --scenario: it prints the header and health, then exits 2 naming the flag.
      const r = await runCli(['incident'], isolated(stage.env), {
        header: /profile \S+ · proxy/,
        health: /instances? healthy/,
      });
      if (r.seen.header === undefined) throw new Error(`no header: ${r.err}`);
      header.push(r.seen.header);
      health.push(r.seen.health);
    }
    return { header: median(header), health: median(health), node: median(node) };
  } finally {
    await stage.stop();
  }
}

export async function bench() {
  const { runs, p95 } = await demoRuns();
  const m = (f) => median(runs.map(f));
  const screen = await firstScreen();
  const rows = [
    { metric: 'node -e 0, same run (the floor for any CLI)', value: screen.node, unit: 'ms' },
    {
      metric: 'guided incident: first line on screen (profile, proxy), median of 11, process start included',
      value: screen.header,
      unit: 'ms',
      baseline: screen.node,
      ratio: screen.header / screen.node,
      target: '≤ 200 ms',
    },
    { metric: 'guided incident: instance health on screen, median of 11', value: screen.health, unit: 'ms' },
    {
      metric: `demo wall time, median of ${RUNS} (sampled tail)`,
      value: m((r) => r.wall_ms) / 1000,
      unit: 's',
      target: '< 60 s',
    },
    {
      metric: 'path A (revoke at the proxy): time to stop, median',
      value: m((r) => r.path_a.time_to_stop_ms),
      unit: 'ms',
    },
    {
      metric: 'path A: refunds leaked after the revoke, max over runs',
      value: Math.max(...runs.map((r) => r.path_a.leaked_calls)),
      unit: 'calls',
      target: 'the calls in flight when the revoke lands (≤ 1 at real scale; the compressed clock fires 20x as often)',
    },
    {
      metric: 'path A: other consumers broken, max over runs',
      value: Math.max(...runs.map((r) => r.path_a.other_consumers_broken)),
      unit: 'of 2',
      target: '0',
    },
    {
      metric: 'path B (delete at the vendor): time to stop at real scale, median (sampled tail)',
      value: m((r) => r.path_b.time_to_stop_real_ms) / 1000,
      unit: 's',
    },
    { metric: 'path B: refunds leaked, median (sampled tail)', value: m((r) => r.path_b.leaked_calls), unit: 'calls' },
    {
      metric: 'path B at the p95 tail: time to stop at real scale',
      value: p95.path_b.time_to_stop_real_ms / 1000,
      unit: 's',
      target: 'seed 002: ~192 s',
    },
    {
      metric: 'path B at the p95 tail: refunds leaked (one call per 400 ms, scaled)',
      value: p95.path_b.leaked_calls,
      unit: 'calls',
      target: 'seed 002: ~480',
    },
    {
      metric: 'path B: other consumers broken, min over runs',
      value: Math.min(...runs.map((r) => r.path_b.other_consumers_broken)),
      unit: 'of 2',
    },
  ];
  return {
    name: 'The 02:14 demo and the guided incident',
    rows,
    note: `time scale ${runs[0].time_scale}: the vendor tail and the agent's 400 ms interval are both scaled; the proxy is not.`,
  };
}
