// `proxy serve --workers N` (issue 15), run by test/bench/run.mjs or alone: `node test/bench/proxy-workers.mjs`.
// Maximum throughput (autocannon, 64 connections, POST /v1/chat/completions to a minimal
// OpenAI-shaped upstream in its own process) and CPU per request, side by side in one run:
//   nginx      proxy_pass, keep-alive to the upstream, one worker, no access log
//   pg ×1      `tourniquet proxy serve --workers 1` on PostgreSQL (fsync on): one process, no cluster
//   pg ×2      `tourniquet proxy serve --workers 2` on the same PostgreSQL: two fleet instances, one port
//   sqlite     `tourniquet proxy serve` on SQLite (synchronous=FULL), the default store
// Every tourniquet is the real CLI (bundled from the sources), request log on (to /dev/null).
// Rounds are interleaved (ROUNDS, default 3; the order rotates each round), each target gets a 1 s
// warm-up before its measured run; medians; ratio to nginx; CPU per request of the proxy's
// processes (nginx master + worker; primary + workers) and, for PostgreSQL, of its server too.
// Then p50 / p99 added over calling the upstream directly, at 1,000 req/s open loop.
// The machine's load average is reported with the figures.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import {
  pct,
  median,
  bundle,
  child,
  readyLine,
  adminClient,
  cpuMs,
  maxRate,
  CHAT,
  CHAT_PATH,
  openLoop as sharedOpenLoop,
} from './_lib.mjs';
import { startNginx } from './_targets.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789abcdef';
const SECONDS = Math.max(2, Math.round(Number(process.env.TOURNIQUET_BENCH_SECONDS ?? 3)));
const ROUNDS = Math.max(3, Number(process.env.TOURNIQUET_BENCH_ROUNDS ?? 3));
const CONNECTIONS = 64;
const WARMUP_S = 1;
const UPSTREAM_KEY = 'sk-bench-upstream-0000000000000000';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const admin = adminClient(ADMIN);

/** A process that prints one JSON line when ready; resolves with it (and the process). */
function jsonChild(cmd, args, env, what) {
  return readyLine(spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'ignore'], cwd: ROOT }), what);
}

/** `tourniquet --json proxy serve …` (the bundled CLI) on `store`, in front of the upstream. */
function serve(build, dir, upstream, store, workers) {
  return jsonChild(
    process.execPath,
    [
      join(build, 'cli.js'),
      '--json',
      'proxy',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--store',
      store,
      '--admin-token-file',
      join(dir, 'admin-token'),
      '--config',
      join(dir, 'proxy.yaml'),
      '--upstream',
      `openai=${upstream}`,
      '--workers',
      String(workers),
    ],
    { PATH: process.env.PATH, OPENAI_KEY: UPSTREAM_KEY, TOURNIQUET_STATE_DIR: join(dir, 'state'), HOME: dir },
    `proxy serve (${store.split(':')[0]}, ${workers} worker(s))`,
  );
}

/** Open loop at `rps` for `seconds` (_lib.mjs: no spinning, no coordinated omission). */
async function openLoop(url, auth, rps, seconds) {
  const pool = new Pool(url, { connections: CONNECTIONS });
  try {
    const send = async () => {
      const r = await pool.request({
        method: 'POST',
        path: CHAT_PATH,
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: CHAT,
      });
      await r.body.dump();
      return r.statusCode;
    };
    return await sharedOpenLoop(send, rps, seconds);
  } finally {
    await pool.close();
  }
}

/** CPU time (ms) of one process alone, not its children (the cluster primary's share). */
function ownCpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return null;
  }
}

/** The PostgreSQL server's main process (its backends are its children). */
const postmasterPid = (dataDir) => Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);

export async function bench() {
  const dir = mkdtempSync(join(tmpdir(), 'tq-bench-workers-'));
  const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-workers');
  mkdirSync(build, { recursive: true });
  // The CLI as `proxy serve` runs (cluster workers re-run this same file), and the test PostgreSQL helper.
  await bundle(build, {
    cli: 'test/proxy/fixtures/cli-child.ts',
    pgcluster: 'test/helpers/pg.ts',
    child: 'test/bench/proxy-child.ts',
  });
  writeFileSync(join(dir, 'admin-token'), ADMIN + '\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'proxy.yaml'),
    'upstream_keys:\n  - { vendor: openai, id: up_openai_main, state: active, secret_env: OPENAI_KEY }\n',
  );
  const { startPg } = await import(pathToFileURL(join(build, 'pgcluster.js')).href);
  const procs = [];
  let nginx = null;
  const pg = await startPg({ fsync: true });
  try {
    const upstream = await child(build, 'openai', {}); // proxy.mjs's upstream, the same canned completion
    procs.push(upstream.proc);
    const db = async (name) => {
      const { default: pgClient } = await import('pg');
      const c = new pgClient.Client({ connectionString: pg.url });
      await c.connect();
      await c.query(`CREATE DATABASE ${name}`);
      await c.end();
      return pg.url.replace(/\/postgres$/, `/${name}`);
    };
    const t = {};
    t.pg1 = await serve(build, dir, upstream.url, await db('workers1'), 1);
    t.pg2 = await serve(build, dir, upstream.url, await db('workers2'), 2);
    t.sqlite = await serve(build, dir, upstream.url, `sqlite:${join(dir, 'proxy.db')}`, 1);
    for (const p of Object.values(t)) procs.push(p.proc);
    nginx = await startNginx(upstream.url);
    const targets = { direct: [upstream.url, `Bearer ${UPSTREAM_KEY}`] };
    const pids = {};
    if (nginx) {
      procs.push(nginx.proc);
      targets.nginx = [nginx.url, `Bearer ${UPSTREAM_KEY}`];
      pids.nginx = nginx.proc.pid;
    }
    for (const [name, p] of Object.entries(t)) {
      const vk = await admin(p.admin_url, 'POST', '/v1/vault-keys', {
        vendor: 'openai',
        agent_run_id: 'bench_workers',
      });
      targets[name] = [p.data_plane_url, `Bearer ${vk.secret}`];
      pids[name] = p.proc.pid;
    }
    const pgPid = postmasterPid(pg.dataDir);
    const loadBefore = loadavg();

    // Throughput: every proxy once per round, order rotated; a warm-up run before each measured one.
    const names = Object.keys(targets).filter((n) => n !== 'direct');
    const tput = Object.fromEntries(names.map((n) => [n, []]));
    const cpu = Object.fromEntries(names.map((n) => [n, { self: 0, pg: 0, primary: 0, done: 0 }]));
    let errors = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      for (const name of order) {
        const [url, auth] = targets[name];
        await maxRate(url, auth, WARMUP_S);
        const c0 = cpuMs(pids[name]);
        const g0 = cpuMs(pgPid);
        const p0 = ownCpuMs(pids[name]);
        const o = await maxRate(url, auth, SECONDS);
        const c1 = cpuMs(pids[name]);
        const g1 = cpuMs(pgPid);
        const p1 = ownCpuMs(pids[name]);
        if (p0 !== null && p1 !== null) cpu[name].primary += p1 - p0;
        tput[name].push(o.rps);
        errors += o.errors;
        if (c0 !== null && c1 !== null) cpu[name].self += c1 - c0;
        if (g0 !== null && g1 !== null) cpu[name].pg += g1 - g0;
        cpu[name].done += o.done;
      }
    }
    // Added latency at 1,000 req/s: target minus direct in the same round.
    const lat = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
    for (const [url, auth] of Object.values(targets)) await openLoop(url, auth, 500, 0.5);
    for (let r = 0; r < ROUNDS; r++)
      for (const [name, [url, auth]] of Object.entries(targets)) {
        const o = await openLoop(url, auth, 1000, 1.5);
        lat[name].push({ p50: pct(o.lat, 50), p99: pct(o.lat, 99) });
        errors += o.errors;
      }
    return report({ tput, cpu, lat, errors, load: [loadBefore, loadavg()], workers: t.pg2.workers?.length });
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    // The primary's workers go with their primary (the IPC channel closes); make sure.
    await sleep(200);
    nginx?.stop();
    pg.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(m) {
  const n = (v) => (Number.isFinite(v) ? v : 'n/a');
  const rps = (name) => (m.tput[name]?.length ? Math.round(median(m.tput[name])) : NaN);
  const spread = (name) => (m.tput[name]?.length ? m.tput[name].map((x) => Math.round(x)).join(', ') : '');
  const ratio = (name) => (rps('nginx') > 0 && rps(name) > 0 ? round(rps(name) / rps('nginx'), 2) : 'n/a');
  const us = (name, part) => (m.cpu[name]?.done ? Math.round((m.cpu[name][part] * 1000) / m.cpu[name].done) : 'n/a');
  const added = (name, q) =>
    m.lat[name]?.length ? n(round(median(m.lat[name].map((r, i) => r[q] - m.lat.direct[i][q])), 2)) : 'n/a';
  const both = (name) => `${added(name, 'p50')} / ${added(name, 'p99')}`;
  const load = m.load.map((l) => l.map((x) => x.toFixed(2)).join(' ')).join(' → ');
  const label = {
    nginx: 'nginx (1 worker)',
    pg1: 'tourniquet, PostgreSQL, --workers 1',
    pg2: `tourniquet, PostgreSQL, --workers ${m.workers ?? 2}`,
    sqlite: 'tourniquet, SQLite (default store)',
  };
  const rows = [];
  for (const name of ['nginx', 'pg1', 'pg2', 'sqlite'])
    rows.push({
      metric: `max throughput: ${label[name]}`,
      value: n(rps(name)),
      unit: 'req/s',
      ratio: ratio(name),
      target: `rounds: ${spread(name)}`,
    });
  rows.push({
    metric: 'PostgreSQL --workers 2 over --workers 1',
    value: rps('pg1') > 0 && rps('pg2') > 0 ? round(rps('pg2') / rps('pg1'), 2) : 'n/a',
    unit: '×',
  });
  for (const name of ['nginx', 'pg1', 'pg2', 'sqlite'])
    rows.push({
      metric: `CPU per request: ${label[name]}`,
      value:
        name === 'pg2'
          ? `${us(name, 'self')} (primary ${us(name, 'primary')}) + ${us(name, 'pg')} PostgreSQL`
          : name === 'pg1'
            ? `${us(name, 'self')} + ${us(name, 'pg')} PostgreSQL`
            : us(name, 'self'),
      unit: 'µs',
    });
  for (const name of ['nginx', 'pg1', 'pg2', 'sqlite'])
    rows.push({ metric: `p50 / p99 added at 1,000 req/s: ${label[name]}`, value: both(name), unit: 'ms' });
  rows.push({
    metric: 'direct p50 / p99 at 1,000 req/s (median of rounds)',
    value: `${round(median(m.lat.direct.map((r) => r.p50)), 2)} / ${round(median(m.lat.direct.map((r) => r.p99)), 2)}`,
    unit: 'ms',
    target:
      median(m.lat.direct.map((r) => r.p50)) > 5
        ? 'over 5 ms: the machine could not hold 1,000 req/s, the added figures are not meaningful'
        : '',
  });
  rows.push({ metric: 'machine load average (1, 5, 15 min) before → after the rounds', value: load, unit: '' });
  if (m.errors)
    rows.push({ metric: 'errors (non-2xx or failed calls) during the runs', value: m.errors, unit: 'calls' });
  return {
    name: 'proxy serve --workers (issue 15)',
    note: `POST ${CHAT_PATH} to a minimal OpenAI-shaped upstream (own process); autocannon, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up then ${SECONDS} s per target per round, ${ROUNDS} rounds interleaved (order rotated), medians. Every tourniquet is the CLI, request log on, every forwarded call's intent row durable before it leaves (PostgreSQL: fsync on, one test cluster on this machine; SQLite: synchronous=FULL). CPU per request: the proxy's processes (nginx master + worker; tourniquet primary + workers), plus, for PostgreSQL, its server's processes. Added latency: target minus direct in the same round, 1,000 req/s open loop, 1.5 s per target per round. Ratio: to nginx.`,
    rows,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await bench();
  console.log(r.note);
  for (const row of r.rows)
    console.log(
      `${row.metric}: ${row.value} ${row.unit ?? ''}${row.ratio !== undefined ? ` ratio ${row.ratio}` : ''}${row.target ? ` [${row.target}]` : ''}`,
    );
  process.exit(0);
}
