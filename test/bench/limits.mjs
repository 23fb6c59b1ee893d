// Fleet-wide limits on the hot path (issue 14), run by test/bench/run.mjs (`npm run bench -- limits`) or alone.
// Three proxy instances (each its own process) on one PostgreSQL cluster (fsync on), the vendor in
// its own process. An open loop at 1,000 req/s spread over the three; latency added over calling the
// vendor directly, for a key without limits and one with a daily cap and a per-minute rate (large
// enough never to refuse): the difference is what leasing budget and calls costs a call.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Pool } from 'undici';
import { ROOT, pct, bundle, child, adminClient, benchMasterKey, openLoop as sharedOpenLoop } from './_lib.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const SECONDS = Number(process.env.TOURNIQUET_BENCH_SECONDS ?? 3);
const RATE = 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (n, d = 3) => Math.round(n * 10 ** d) / 10 ** d;
const admin = adminClient(ADMIN);

/** Open loop at `rps` over several targets in turn (_lib.mjs: no spinning, no coordinated omission). */
async function openLoop(targets, rps, seconds) {
  const pools = targets.map(([url]) => new Pool(url, { connections: 64 }));
  try {
    const send = async (i) => {
      const k = i % targets.length;
      const r = await pools[k].request({
        method: 'GET',
        path: '/v1/customers',
        headers: { authorization: targets[k][1] },
      });
      await r.body.dump();
      return r.statusCode;
    };
    const { lat, statuses } = await sharedOpenLoop(send, rps, seconds);
    return { lat, errors: statuses };
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}

export async function bench() {
  const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-limits');
  mkdirSync(build, { recursive: true });
  await bundle(build, { child: 'test/bench/proxy-child.ts', pgcluster: 'test/helpers/pg.ts' });
  const { startPg } = await import(pathToFileURL(join(build, 'pgcluster.js')).href);
  const cluster = await startPg({ fsync: true });
  const procs = [];
  try {
    const vendor = await child(build, 'sandbox', {});
    procs.push(vendor.proc);
    const cfg = {
      store: cluster.url,
      adminToken: ADMIN,
      masterKey: benchMasterKey(),
      log: false,
      upstreams: vendor.urls,
      upstreamKeys: [{ id: 'up_main', vendor: 'stripe', secret: vendor.keys.stripe.secret, state: 'active' }],
    };
    const first = await child(build, 'proxy', cfg);
    const fleet = [first, ...(await Promise.all([child(build, 'proxy', cfg), child(build, 'proxy', cfg)]))];
    procs.push(...fleet.map((f) => f.proc));
    const free = await admin(first.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'stripe',
      agent_run_id: 'bench_free',
    });
    const limited = await admin(first.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'stripe',
      agent_run_id: 'bench_limited',
      daily_usd_cap: 1_000_000,
      calls_per_minute: 10_000_000,
    });
    await sleep(500); // the keys reach the other instances (NOTIFY)
    const targets = {
      direct: [[vendor.urls.stripe, `Bearer ${vendor.keys.stripe.secret}`]],
      'no limits': fleet.map((f) => [f.dataUrl, `Bearer ${free.secret}`]),
      'fleet limits': fleet.map((f) => [f.dataUrl, `Bearer ${limited.secret}`]),
    };
    for (const t of Object.values(targets)) await openLoop(t, 300, 0.5); // warm up
    const lat = { direct: [], 'no limits': [], 'fleet limits': [] };
    const errors = {};
    for (let r = 0; r < 2; r++)
      for (const [name, t] of Object.entries(targets)) {
        const res = await openLoop(t, RATE, SECONDS / 2);
        lat[name].push(...res.lat);
        for (const [k, n] of Object.entries(res.errors)) errors[`${name} ${k}`] = (errors[`${name} ${k}`] ?? 0) + n;
      }
    const added = (name, q) => round(pct(lat[name], q) - pct(lat.direct, q));
    const rows = [
      {
        metric: `added latency p50, no limits (${RATE} req/s over 3 instances)`,
        value: added('no limits', 50),
        unit: 'ms',
      },
      { metric: 'added latency p99, no limits', value: added('no limits', 99), unit: 'ms' },
      {
        metric: 'added latency p50, daily cap + per-minute rate across the fleet',
        value: added('fleet limits', 50),
        unit: 'ms',
      },
      {
        metric: 'added latency p99, daily cap + per-minute rate across the fleet',
        value: added('fleet limits', 99),
        unit: 'ms',
      },
      {
        metric: 'cost of fleet-wide limits, p50 / p99',
        value: `${round(added('fleet limits', 50) - added('no limits', 50))} / ${round(added('fleet limits', 99) - added('no limits', 99))}`,
        unit: 'ms',
        target: 'most calls decide from memory',
      },
      {
        metric: 'vendor called directly, p50 / p99',
        value: `${round(pct(lat.direct, 50))} / ${round(pct(lat.direct, 99))}`,
        unit: 'ms',
      },
      {
        metric: 'answers other than 200, by target and status',
        value:
          Object.entries(errors)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', ') || 0,
        unit: 'calls',
        target: '0',
      },
    ];
    return {
      name: 'Fleet-wide limits on the hot path (3 instances, PostgreSQL)',
      note: `${SECONDS} s per target at ${RATE} req/s, two interleaved rounds.`,
      rows,
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    cluster.destroy();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await bench();
  console.log(JSON.stringify(r, null, 2));
}
