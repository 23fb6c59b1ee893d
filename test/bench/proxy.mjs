// The vault-key proxy benchmarks (issues 3 and 10), run by test/bench/run.mjs or alone: `node test/bench/proxy.mjs`.
//   revoke → refusal     an agent loop through the proxy; from the revoke call's return to the first refusal
//   leaked calls         calls that reached the vendor after the revoke returned, soft and hard,
//                        at one call per 400 ms and at the agent's maximum rate
//   overhead             latency added over calling the vendor directly at 1,000 req/s (p50, p99)
//   refusal latency      a revoked key's calls at 1,000 req/s: p50 / p99 of the 401 (target p99 < 2 ms)
//   throughput           maximum req/s (autocannon, 256 connections) and CPU per request
// Side by side in one run: this design (write-ahead audit), the previous one (answer after the
// audit commit, built from the base commit), a bare Node pass-through, and nginx as a bare reverse
// proxy before the same upstream. Every proxy and the vendor run in their own processes.
import { mkdtempSync, rmSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import autocannon from 'autocannon';
import { pct, bundle, child, adminClient, benchMasterKey } from './_lib.mjs';
import { buildBase, startNginx } from './_targets.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789abcdef';
const SECONDS = Number(process.env.TOURNIQUET_BENCH_SECONDS ?? 3);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const admin = adminClient(ADMIN);

/** One GET through a pool; resolves to the status. */
async function call(pool, path, auth) {
  const r = await pool.request({ method: 'GET', path, headers: { authorization: auth } });
  await r.body.dump();
  return r.statusCode;
}

// ---- revoke → refusal ------------------------------------------------------------------------

async function revokeToRefusal(proxy, trials) {
  const pool = new Pool(proxy.dataUrl, { connections: 4 });
  const lat = [];
  let allowedAfter = 0;
  for (let i = 0; i < trials; i++) {
    const vk = await admin(proxy.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'stripe',
      agent_run_id: `bench_rr_${i}`,
    });
    let revokedAt = null;
    let refusedAt = null;
    const loop = (async () => {
      while (refusedAt === null) {
        const sentAt = performance.now();
        const status = await call(pool, '/v1/customers', `Bearer ${vk.secret}`);
        if (status === 401) refusedAt = performance.now();
        else if (revokedAt !== null && sentAt > revokedAt) allowedAfter++;
      }
    })();
    await sleep(5 + Math.random() * 10);
    await admin(proxy.adminUrl, 'DELETE', `/v1/vault-keys/${vk.id}`);
    revokedAt = performance.now();
    await loop;
    lat.push(Math.max(0, refusedAt - revokedAt));
  }
  await pool.close();
  return { p50: pct(lat, 50), p99: pct(lat, 99), allowedAfter };
}

// ---- leaked calls ----------------------------------------------------------------------------

async function leaks(proxy, sandbox, { intervalMs, concurrency, hard, trials }) {
  const arrivals = new Map(); // production key → arrival times at the vendor
  const onReq = (req) => {
    const k = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!arrivals.has(k)) arrivals.set(k, []);
    arrivals.get(k).push(performance.now());
  };
  sandbox.stripe.server.prependListener('request', onReq);
  const leaked = [];
  const inflightAtRevoke = [];
  const pool = new Pool(proxy.dataUrl, { connections: concurrency });
  for (let t = 0; t < trials; t++) {
    // A production key of its own, pinned, so vendor arrivals are this agent's and no one else's.
    const prod = sandbox.stripe.createKey(`bench-${t}`);
    const up = await admin(proxy.adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'stripe',
      secret: prod.secret,
      state: 'standby',
    });
    const vk = await admin(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe', upstream_key_id: up.id });
    let stop = false;
    let inflight = 0;
    const agent = async () => {
      while (!stop) {
        const started = performance.now();
        inflight++;
        try {
          const status = await call(pool, '/v1/customers', `Bearer ${vk.secret}`);
          if (status === 401) stop = true;
        } catch {
          // a hard revoke may cut the connection
        } finally {
          inflight--;
        }
        if (intervalMs) await sleep(Math.max(0, intervalMs - (performance.now() - started)));
      }
    };
    const agents = Array.from({ length: concurrency }, agent);
    await sleep(intervalMs ? intervalMs * 2 + Math.random() * intervalMs : 100 + Math.random() * 50);
    await admin(proxy.adminUrl, 'DELETE', `/v1/vault-keys/${vk.id}${hard ? '?hard=true' : ''}`);
    const revokedAt = performance.now();
    inflightAtRevoke.push(inflight);
    await Promise.all(agents);
    await sleep(100);
    leaked.push((arrivals.get(prod.secret) ?? []).filter((at) => at > revokedAt).length);
  }
  sandbox.stripe.server.off('request', onReq);
  await pool.close();
  return {
    max: Math.max(...leaked),
    mean: leaked.reduce((a, b) => a + b, 0) / leaked.length,
    inflightMax: Math.max(...inflightAtRevoke),
  };
}

// ---- latency, refusals and throughput --------------------------------------------------------

/** Open loop at `rps` for `seconds`: latency from the intended send time (no coordinated omission). */
async function openLoop(url, auth, rps, seconds, expect = 200) {
  const pool = new Pool(url, { connections: 64 });
  const lat = [];
  let errors = 0;
  const total = Math.round(rps * seconds);
  const t0 = performance.now();
  const pending = [];
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait - 0.5);
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    pending.push(
      call(pool, '/v1/customers', auth).then(
        (s) => (s === expect ? lat.push(performance.now() - due) : errors++),
        () => errors++,
      ),
    );
  }
  await Promise.all(pending);
  await pool.close();
  return { lat, errors };
}

/** CPU time (ms) a process and its children (nginx's worker) have used, from /proc (Linux; null elsewhere). 10 ms resolution. */
function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return (Number(f[11]) + Number(f[12])) * 10 + kids.reduce((sum, k) => sum + (cpuMs(Number(k)) ?? 0), 0);
  } catch {
    return null;
  }
}

/** Maximum throughput: autocannon, closed loop, 256 connections, for `seconds`. */
async function maxRate(url, auth, seconds) {
  const r = await autocannon({
    url: `${url}/v1/customers`,
    connections: 256,
    duration: seconds,
    headers: { authorization: auth },
  });
  return { rps: r['2xx'] / seconds, done: r['2xx'], errors: r.errors + r.non2xx };
}

async function startAll(build, base, dir, vendor) {
  const procs = [];
  const cfg = (name, extra = '') => ({
    store: `sqlite:${join(dir, `${name}.db`)}${extra}`,
    adminToken: ADMIN,
    log: false,
    upstreams: vendor.urls,
    upstreamKeys: [{ vendor: 'stripe', secret: vendor.keys.stripe.secret, state: 'active', label: 'main' }],
  });
  const add = async (p) => (procs.push(p.proc), p);
  const t = {
    proxy: await add(await child(build, 'proxy', cfg('proxy'))),
    relaxed: await add(await child(build, 'proxy', cfg('relaxed', '?sync=normal'))),
    bare: await add(await child(build, 'bare', { upstream: vendor.urls.stripe })),
  };
  if (base) t.base = await add(await child(base.dir, 'proxy', cfg('base')));
  const nginx = await startNginx(vendor.urls.stripe);
  if (nginx) ((t.nginx = nginx), procs.push(nginx.proc));
  return { t, procs, nginx };
}

export async function bench() {
  const dir = mkdtempSync(join(tmpdir(), 'tq-bench-proxy-'));
  const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-proxy');
  mkdirSync(build, { recursive: true });
  await bundle(build, { child: 'test/bench/proxy-child.ts', sandbox: 'src/sandbox/index.ts' });
  const base = await buildBase(join(build, 'base'));
  const { startSandbox } = await import(pathToFileURL(join(build, 'sandbox.js')).href);
  const procs = [];
  let nginxStop = null;
  try {
    // Vendor for overhead: its own process. Vendor for leaks: here, so arrivals are timed exactly.
    const vendor = await child(build, 'sandbox', {});
    procs.push(vendor.proc);
    const started = await startAll(build, base, dir, vendor);
    procs.push(...started.procs);
    nginxStop = started.nginx?.stop ?? null;
    const { t } = started;
    const local = await startSandbox({ timeScale: 0.001, latencyMs: 20 });
    const leakCfg = (name) => ({
      store: `sqlite:${join(dir, `${name}.db`)}`,
      adminToken: ADMIN,
      masterKey: benchMasterKey(),
      log: false,
      upstreams: local.urls,
      upstreamKeys: [{ vendor: 'stripe', secret: local.keys.stripe.secret, state: 'active', label: 'main' }],
    });
    const leakProxy = await child(build, 'proxy', leakCfg('leak'));
    procs.push(leakProxy.proc);
    const leakBase = base ? await child(base.dir, 'proxy', leakCfg('leak-base')) : null;
    if (leakBase) procs.push(leakBase.proc);

    const rr = await revokeToRefusal(t.proxy, 60);
    const rrBase = t.base ? await revokeToRefusal(t.base, 60) : null;
    const slowSoft = await leaks(leakProxy, local, { intervalMs: 400, concurrency: 1, hard: false, trials: 3 });
    const slowHard = await leaks(leakProxy, local, { intervalMs: 400, concurrency: 1, hard: true, trials: 3 });
    const fastSoft = await leaks(leakProxy, local, { intervalMs: 0, concurrency: 8, hard: false, trials: 5 });
    const fastHard = await leaks(leakProxy, local, { intervalMs: 0, concurrency: 8, hard: true, trials: 5 });
    const fastSoftBase = leakBase
      ? await leaks(leakBase, local, { intervalMs: 0, concurrency: 8, hard: false, trials: 5 })
      : null;
    await local.stop();

    // Overhead at 1,000 req/s, interleaved so machine noise hits every target alike.
    const prodAuth = `Bearer ${vendor.keys.stripe.secret}`;
    const targets = { direct: [vendor.urls.stripe, prodAuth] };
    const revoked = {};
    for (const [name, p] of Object.entries(t)) {
      if (!p.adminUrl) {
        targets[name] = [p.url, prodAuth];
        continue;
      }
      const vk = await admin(p.adminUrl, 'POST', '/v1/vault-keys', {
        vendor: 'stripe',
        agent_run_id: 'bench_overhead',
      });
      targets[name] = [p.dataUrl, `Bearer ${vk.secret}`];
      const gone = await admin(p.adminUrl, 'POST', '/v1/vault-keys', {
        vendor: 'stripe',
        agent_run_id: 'bench_refusal',
      });
      await admin(p.adminUrl, 'DELETE', `/v1/vault-keys/${gone.id}`);
      revoked[name] = [p.dataUrl, `Bearer ${gone.secret}`];
    }
    const lat = Object.fromEntries(Object.keys(targets).map((n) => [n, []]));
    const refusals = Object.fromEntries(Object.keys(revoked).map((n) => [n, []]));
    let errors = 0;
    for (const [url, auth] of Object.values(targets)) await openLoop(url, auth, 500, 0.5); // warm up
    for (let r = 0; r < 2; r++) {
      for (const [name, [url, auth]] of Object.entries(targets)) {
        const o = await openLoop(url, auth, 1000, SECONDS / 2);
        lat[name].push(...o.lat);
        errors += o.errors;
      }
      for (const [name, [url, auth]] of Object.entries(revoked))
        refusals[name].push(...(await openLoop(url, auth, 1000, SECONDS / 4, 401)).lat);
    }
    const tput = Object.fromEntries(Object.keys(t).map((n) => [n, []]));
    const cpu = Object.fromEntries(Object.keys(t).map((n) => [n, [0, 0]])); // [ms, requests]
    for (let r = 0; r < 2; r++)
      for (const [name, p] of Object.entries(t)) {
        const c0 = cpuMs(p.proc.pid);
        const o = await maxRate(targets[name][0], targets[name][1], Math.max(1, Math.round(SECONDS / 2)));
        const c1 = cpuMs(p.proc.pid);
        tput[name].push(o.rps);
        errors += o.errors;
        if (c0 !== null && c1 !== null) ((cpu[name][0] += c1 - c0), (cpu[name][1] += o.done));
      }
    return report({
      rr,
      rrBase,
      slowSoft,
      slowHard,
      fastSoft,
      fastHard,
      fastSoftBase,
      lat,
      refusals,
      tput,
      cpu,
      errors,
      base,
    });
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    nginxStop?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(m) {
  const mean = (xs) => (xs?.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const added = (name, q) => (m.lat[name]?.length ? round(pct(m.lat[name], q) - pct(m.lat.direct, q)) : 'n/a');
  const both = (name) => `${added(name, 50)} / ${added(name, 99)}`;
  const us = (name) => (m.cpu[name]?.[1] ? Math.round((m.cpu[name][0] * 1000) / m.cpu[name][1]) : 'n/a');
  const rps = (name) => (m.tput[name]?.length ? Math.round(mean(m.tput[name])) : 'n/a');
  const refusal = (name) =>
    m.refusals[name]?.length ? `${round(pct(m.refusals[name], 50))} / ${round(pct(m.refusals[name], 99))}` : 'n/a';
  const rows = [
    {
      metric: 'revoke → first refusal, median / p99 (60 trials)',
      value: `${round(m.rr.p50)} / ${round(m.rr.p99)}`,
      unit: 'ms',
      baseline: m.rrBase ? `${round(m.rrBase.p50)} / ${round(m.rrBase.p99)}` : 'n/a',
      target: 'next request',
    },
    {
      metric: 'requests sent after the revoke returned and allowed',
      value: m.rr.allowedAfter,
      unit: 'calls',
      baseline: m.rrBase?.allowedAfter ?? 'n/a',
      target: '0',
    },
    {
      metric: 'leaked after soft revoke, 1 call/400 ms (max of 3)',
      value: m.slowSoft.max,
      unit: 'calls',
      target: `≤ in flight (${m.slowSoft.inflightMax})`,
    },
    { metric: 'leaked after hard revoke, 1 call/400 ms (max of 3)', value: m.slowHard.max, unit: 'calls', target: '0' },
    {
      metric: 'leaked after soft revoke, max rate ×8 (max of 5)',
      value: m.fastSoft.max,
      unit: 'calls',
      baseline: m.fastSoftBase?.max ?? 'n/a',
      target: `≤ in flight (${m.fastSoft.inflightMax})`,
    },
    { metric: 'leaked after hard revoke, max rate ×8 (max of 5)', value: m.fastHard.max, unit: 'calls', target: '0' },
    {
      metric: 'p50 / p99 added at 1,000 req/s: write-ahead, sync=full',
      value: both('proxy'),
      unit: 'ms',
      baseline: both('base'),
      target: 'p50 < 1 ms',
    },
    { metric: 'p50 / p99 added at 1,000 req/s: write-ahead, sync=normal', value: both('relaxed'), unit: 'ms' },
    { metric: 'p50 / p99 added at 1,000 req/s: nginx (bare reverse proxy)', value: both('nginx'), unit: 'ms' },
    { metric: 'p50 / p99 added at 1,000 req/s: bare Node pass-through', value: both('bare'), unit: 'ms' },
    {
      metric: 'direct p50 / p99 at 1,000 req/s',
      value: `${round(pct(m.lat.direct, 50))} / ${round(pct(m.lat.direct, 99))}`,
      unit: 'ms',
    },
    {
      metric: 'refusal (revoked key) p50 / p99 at 1,000 req/s, write-ahead',
      value: refusal('proxy'),
      unit: 'ms',
      baseline: refusal('base'),
      target: 'p99 < 2 ms',
    },
    {
      metric: 'max throughput (autocannon, 256 connections): write-ahead, sync=full',
      value: rps('proxy'),
      unit: 'req/s',
      baseline: rps('base'),
      ratio: rps('base') > 0 ? round(rps('proxy') / rps('base'), 2) : 'n/a',
    },
    { metric: 'max throughput: write-ahead, sync=normal', value: rps('relaxed'), unit: 'req/s' },
    {
      metric: 'max throughput: nginx / bare Node pass-through',
      value: `${rps('nginx')} / ${rps('bare')}`,
      unit: 'req/s',
    },
    {
      metric: 'CPU per request: write-ahead full / normal',
      value: `${us('proxy')} / ${us('relaxed')}`,
      unit: 'µs',
      baseline: us('base'),
    },
    { metric: 'CPU per request: nginx / bare Node pass-through', value: `${us('nginx')} / ${us('bare')}`, unit: 'µs' },
  ];
  if (m.errors) rows.push({ metric: 'errors during the overhead and throughput runs', value: m.errors, unit: 'calls' });
  return {
    name: 'vault-key proxy (issues 3, 10)',
    note: `Baseline column: the previous design, answer after the audit commit (base commit ${m.base?.sha?.slice(0, 10) ?? 'unavailable'}), in the same harness. Write-ahead: a forwarded call's audit row is fsynced (SQLite WAL, synchronous=FULL, group commit on the writer thread) before the call leaves; its outcome and refusal rows are written after the answer. nginx: one worker, keep-alive to the upstream, no logging. Leak runs: vendor latency 20 ms.`,
    rows,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await bench();
  for (const row of r.rows)
    console.log(
      `${row.metric}: ${row.value} ${row.unit ?? ''}${row.baseline !== undefined ? ` (previous ${row.baseline})` : ''}${row.ratio !== undefined ? ` ratio ${row.ratio}` : ''}${row.target ? ` [target ${row.target}]` : ''}`,
    );
  process.exit(0);
}
