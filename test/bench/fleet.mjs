// The fleet benchmarks (issue 4), run by test/bench/run.mjs (`npm run bench -- fleet`) or alone.
// Three proxy instances (each its own process) on one throwaway PostgreSQL cluster (fsync on).
//   revoke → refusal     revoke through A; first refusal on B and C (median, p99, max over ≥ 200 revokes),
//                        and the same with NOTIFY lost (every LISTEN connection killed first)
//   leaked calls         an agent's calls spread over A, B, C; calls that reached the vendor after the
//                        revoke returned, soft and hard, at 1 call/400 ms and at maximum rate
//   revoke call          how long the DELETE takes, waiting (≤ 250 ms) for every instance to confirm,
//                        against a fleet that does not wait (confirmMs 0): the cost of "the next request"
//   audit throughput     intent rows/s with group commit (one INSERT per batch) against one commit per row
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { pct, bundle, child, adminClient, benchMasterKey } from './_lib.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789abcdef';
const REVOKES = Number(process.env.TOURNIQUET_BENCH_FLEET_REVOKES ?? 200);
const SECONDS = Number(process.env.TOURNIQUET_BENCH_SECONDS ?? 3);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

const bundleHere = (dir) =>
  bundle(dir, {
    child: 'test/bench/proxy-child.ts',
    sandbox: 'src/sandbox/index.ts',
    pgcluster: 'test/helpers/pg.ts',
    store: 'src/proxy/store/postgres.ts',
    writer: 'src/proxy/audit-writer.ts',
  });

const admin = adminClient(ADMIN);

async function call(pool, auth) {
  try {
    const r = await pool.request({ method: 'GET', path: '/v1/customers', headers: { authorization: auth } });
    const text = await r.body.text();
    return r.statusCode === 401 && text.includes('vault_key_revoked')
      ? 'revoked'
      : r.statusCode === 200
        ? 'ok'
        : `other ${r.statusCode}`;
  } catch {
    return 'error';
  }
}

/** Until the key works on every pool (a new key reaches the other instances by NOTIFY too). */
async function untilAllow(pools, auth) {
  for (const p of pools)
    for (let i = 0, last; (last = await call(p, auth)) !== 'ok'; i++) {
      if (i > 500) throw new Error(`key never became usable (last answer: ${last})`);
      if (last !== 'other 401') await sleep(10); // 401: not yet known there; anything else: give it a moment
    }
}

// ---- revoke → refusal across instances --------------------------------------------------------

async function crossRevoke(a, others, trials, beforeRevoke) {
  const pools = others.map((o) => new Pool(o.dataUrl, { connections: 2 }));
  const fromReturn = [];
  const fromSend = [];
  const revokeCall = [];
  let unconfirmed = 0;
  for (let i = 0; i < trials; i++) {
    const vk = await admin(a.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'stripe',
      agent_run_id: `bench_fleet_${i}`,
    });
    const auth = `Bearer ${vk.secret}`;
    await untilAllow(pools, auth);
    if (beforeRevoke) await beforeRevoke();
    const probes = pools.map(async (pool) => {
      // Two probes per instance, so the refusal is seen within about half a call's round trip.
      const seen = await Promise.race(
        [0, 1].map(async () => {
          for (;;) {
            const r = await call(pool, auth);
            if (r === 'revoked') return performance.now();
          }
        }),
      );
      return seen;
    });
    await sleep(3 + Math.random() * 5);
    const sentAt = performance.now();
    const del = await admin(a.adminUrl, 'DELETE', `/v1/vault-keys/${vk.id}`);
    const returnedAt = performance.now();
    revokeCall.push(returnedAt - sentAt);
    unconfirmed += del.fleet?.unconfirmed?.length ?? 0;
    for (const refusedAt of await Promise.all(probes)) {
      fromReturn.push(Math.max(0, refusedAt - returnedAt));
      fromSend.push(refusedAt - sentAt);
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  return { fromReturn, fromSend, revokeCall, unconfirmed };
}

// ---- leaked calls -----------------------------------------------------------------------------

async function leaks(instances, sandbox, { intervalMs, concurrency, hard, trials }) {
  const arrivals = new Map();
  const onReq = (req) => {
    const k = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!arrivals.has(k)) arrivals.set(k, []);
    arrivals.get(k).push(performance.now());
  };
  sandbox.stripe.server.prependListener('request', onReq);
  const pools = instances.map((p) => new Pool(p.dataUrl, { connections: concurrency }));
  const leaked = [];
  const inflightAt = [];
  for (let t = 0; t < trials; t++) {
    const prod = sandbox.stripe.createKey(`bench-fleet-${t}`);
    const up = await admin(instances[0].adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'stripe',
      secret: prod.secret,
      state: 'standby',
    });
    const vk = await admin(instances[0].adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'stripe',
      upstream_key_id: up.id,
    });
    const auth = `Bearer ${vk.secret}`;
    await untilAllow(pools, auth);
    let stop = false;
    let inflight = 0;
    let n = 0;
    const agent = async () => {
      while (!stop) {
        const started = performance.now();
        inflight++;
        const r = await call(pools[n++ % pools.length], auth); // a load balancer spreading the agent's calls
        inflight--;
        if (r === 'revoked') stop = true;
        if (intervalMs) await sleep(Math.max(0, intervalMs - (performance.now() - started)));
      }
    };
    const agents = Array.from({ length: concurrency }, agent);
    await sleep(intervalMs ? intervalMs * 2 + Math.random() * intervalMs : 100 + Math.random() * 50);
    await admin(
      instances[t % instances.length].adminUrl,
      'DELETE',
      `/v1/vault-keys/${vk.id}${hard ? '?hard=true' : ''}`,
    );
    const revokedAt = performance.now();
    inflightAt.push(inflight);
    await Promise.all(agents);
    await sleep(100);
    leaked.push((arrivals.get(prod.secret) ?? []).filter((at) => at > revokedAt).length);
  }
  sandbox.stripe.server.off('request', onReq);
  await Promise.all(pools.map((p) => p.close()));
  return {
    max: Math.max(...leaked),
    mean: leaked.reduce((s, x) => s + x, 0) / leaked.length,
    inflightMax: Math.max(...inflightAt),
  };
}

// ---- audit throughput -------------------------------------------------------------------------

let callSeq = 0;
function auditRow(i) {
  const now = new Date().toISOString();
  return {
    call_id: `inst_bench.${++callSeq}`,
    outcome: 'pending',
    amount_usd_estimated: null,
    started_at: now,
    finished_at: now,
    vault_key_id: `vk_id_bench${i % 50}`,
    agent_run_id: 'bench',
    customer_scope_id: `cus_${i % 200}`,
    vendor: 'stripe',
    method: 'POST',
    path: '/v1/refunds',
    policy_verdict: 'allowed',
    vendor_status: 200,
    cost_usd_parsed: 1.25,
    upstream_key_id: 'up_bench',
    latency_ms: 2.5,
    instance_id: 'inst_bench',
  };
}

/** `writers` concurrent requests, each waiting for its row to be durable, for `seconds`. */
async function auditThroughput(write, writers, seconds) {
  let rows = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (performance.now() < end) {
        await write(auditRow(rows + w));
        rows++;
      }
    }),
  );
  return rows / seconds;
}

async function killListeners(url) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'tourniquet-listen'`);
  await c.end();
}

async function fleetOf(build, cfg, n) {
  const first = await child(build, 'proxy', cfg); // migrates; the rest start together
  const rest = await Promise.all(Array.from({ length: n - 1 }, () => child(build, 'proxy', cfg)));
  return [first, ...rest];
}

export async function bench() {
  const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-fleet');
  mkdirSync(build, { recursive: true });
  await bundleHere(build);
  const load = (name) => import(pathToFileURL(join(build, `${name}.js`)).href);
  const [{ startPg }, { startSandbox }, { PostgresStore }, { AuditWriter }] = await Promise.all(
    ['pgcluster', 'sandbox', 'store', 'writer'].map(load),
  );
  const cluster = await startPg({ fsync: true });
  const procs = [];
  const kill = () => procs.splice(0).forEach((p) => p.kill('SIGKILL'));
  try {
    const base = { store: cluster.url, adminToken: ADMIN, masterKey: benchMasterKey(), log: false };
    // 1. Revoke → refusal: vendor in its own process, no added latency, so probes are fast.
    const vendor = await child(build, 'sandbox', {});
    procs.push(vendor.proc);
    const cfg1 = {
      ...base,
      upstreams: vendor.urls,
      upstreamKeys: [{ id: 'up_main', vendor: 'stripe', secret: vendor.keys.stripe.secret, state: 'active' }],
    };
    const [a, b, c] = await fleetOf(build, cfg1, 3);
    procs.push(a.proc, b.proc, c.proc);
    await crossRevoke(a, [b, c], 10); // warm up
    const rr = await crossRevoke(a, [b, c], REVOKES);
    const lost = await crossRevoke(a, [b, c], Math.max(20, Math.round(REVOKES / 4)), () => killListeners(cluster.url));
    for (const p of [a, b, c]) p.proc.kill('SIGTERM'); // (they leave the registry; the vendor stays)
    await Promise.all(
      [a, b, c].map((p) => new Promise((r) => (p.proc.exitCode === null ? p.proc.once('exit', r) : r()))),
    );
    // The same fleet not waiting for confirmations: what the wait costs the revoke call.
    const [a0, b0, c0] = await fleetOf(build, { ...cfg1, fleet: { confirmMs: 0 } }, 3);
    procs.push(a0.proc, b0.proc, c0.proc);
    await crossRevoke(a0, [b0, c0], 5);
    const noWait = await crossRevoke(a0, [b0, c0], Math.max(20, Math.round(REVOKES / 4)));
    kill();

    // 2. Leaked calls: vendor here (arrivals timed exactly), 20 ms vendor latency.
    const local = await startSandbox({ timeScale: 0.001, latencyMs: 20 });
    const cfg2 = {
      ...base,
      upstreams: local.urls,
      upstreamKeys: [{ id: 'up_main', vendor: 'stripe', secret: local.keys.stripe.secret, state: 'active' }],
    };
    const fleet = await fleetOf(build, cfg2, 3);
    procs.push(...fleet.map((f) => f.proc));
    const slowSoft = await leaks(fleet, local, { intervalMs: 400, concurrency: 1, hard: false, trials: 3 });
    const slowHard = await leaks(fleet, local, { intervalMs: 400, concurrency: 1, hard: true, trials: 3 });
    const fastSoft = await leaks(fleet, local, { intervalMs: 0, concurrency: 8, hard: false, trials: 5 });
    const fastHard = await leaks(fleet, local, { intervalMs: 0, concurrency: 8, hard: true, trials: 5 });
    kill();
    await local.stop();

    // 3. Audit write throughput, 64 concurrent requests each waiting for its row's commit.
    const store = new PostgresStore(cluster.url, { notifications: false });
    await store.init();
    const writer = new AuditWriter(store);
    const tput = { group: [], single: [] };
    for (let r = 0; r < 2; r++) {
      tput.single.push(await auditThroughput((row) => store.appendAudit([row]), 64, SECONDS / 2));
      tput.group.push(await auditThroughput((row) => writer.intent(row), 64, SECONDS / 2));
    }
    await store.close();

    const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const bound = 'bound 250 ms (+ 1 round trip); fail closed at 750 ms';
    const rows = [
      {
        metric: `revoke through A → refused by B and C, median (${REVOKES} revokes × 2 instances)`,
        value: round(pct(rr.fromReturn, 50)),
        unit: 'ms',
      },
      {
        metric: 'revoke through A → refused by B and C, p99',
        value: round(pct(rr.fromReturn, 99)),
        unit: 'ms',
        target: '< 100 ms',
      },
      {
        metric: 'revoke through A → refused by B and C, max',
        value: round(Math.max(...rr.fromReturn)),
        unit: 'ms',
        target: bound,
      },
      {
        metric: 'same, counted from the revoke call being sent: median / p99',
        value: `${round(pct(rr.fromSend, 50))} / ${round(pct(rr.fromSend, 99))}`,
        unit: 'ms',
      },
      {
        metric: 'the revoke call itself on A, waiting for B and C to confirm: median / p99',
        value: `${round(pct(rr.revokeCall, 50))} / ${round(pct(rr.revokeCall, 99))}`,
        unit: 'ms',
        baseline: `${round(pct(noWait.revokeCall, 50))} / ${round(pct(noWait.revokeCall, 99))}`,
      },
      {
        metric: 'revokes answered with an instance unconfirmed (of B, C × revokes)',
        value: rr.unconfirmed,
        unit: 'instances',
        target: '0 on a healthy fleet',
      },
      {
        metric: 'without the wait (confirmMs 0): refused by B and C after the call returned, median / p99',
        value: `${round(pct(noWait.fromReturn, 50))} / ${round(pct(noWait.fromReturn, 99))}`,
        unit: 'ms',
      },
      {
        metric: `NOTIFY lost (all LISTEN connections killed) → refused: median / p99 / max (${lost.fromReturn.length / 2} revokes)`,
        value: `${round(pct(lost.fromReturn, 50))} / ${round(pct(lost.fromReturn, 99))} / ${round(Math.max(...lost.fromReturn))}`,
        unit: 'ms',
        target: bound,
      },
      {
        metric: 'leaked after soft revoke, 1 call/400 ms over 3 instances (max of 3)',
        value: slowSoft.max,
        unit: 'calls',
        target: `≤ in flight (${slowSoft.inflightMax})`,
      },
      {
        metric: 'leaked after hard revoke, 1 call/400 ms over 3 instances (max of 3)',
        value: slowHard.max,
        unit: 'calls',
        target: '0',
      },
      {
        metric: 'leaked after soft revoke, max rate ×8 over 3 instances (max of 5)',
        value: fastSoft.max,
        unit: 'calls',
        target: `≤ in flight (${fastSoft.inflightMax}) + propagation`,
      },
      {
        metric: 'leaked after hard revoke, max rate ×8 over 3 instances (max of 5)',
        value: fastHard.max,
        unit: 'calls',
        target: 'calls admitted before B, C heard',
      },
      {
        metric: 'intent rows/s, group commit (one INSERT per batch), 64 writers',
        value: Math.round(mean(tput.group)),
        unit: 'rows/s',
        baseline: Math.round(mean(tput.single)),
        ratio: round(mean(tput.group) / mean(tput.single), 2),
      },
      {
        metric: 'audit rows/s, one commit per row, 64 writers (pool of 10)',
        value: Math.round(mean(tput.single)),
        unit: 'rows/s',
      },
    ];
    return {
      name: 'proxy fleet on PostgreSQL (issue 4)',
      note: "Three proxy processes, one PostgreSQL 15 cluster (fsync on), sandbox vendor; all on this machine. Baseline of the revoke call: the same fleet with confirmMs 0 (no wait for confirmations). Refusal times are counted from the revoke call's return on A (0 when B or C refused first), probing each of B and C with two back-to-back callers. Leak runs: vendor latency 20 ms, the agent's calls round-robin over the 3 instances. Baseline column of the audit rows: one commit per row.",
      rows,
    };
  } finally {
    kill();
    cluster.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await bench();
  for (const row of r.rows)
    console.log(
      `${row.metric}: ${row.value} ${row.unit ?? ''}${row.baseline !== undefined ? ` (baseline ${row.baseline})` : ''}${row.ratio !== undefined ? ` ratio ${row.ratio}` : ''}${row.target ? ` [target ${row.target}]` : ''}`,
    );
  process.exit(0);
}
