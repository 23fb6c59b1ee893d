// Where a call waits at maximum throughput (issue 15): `node test/bench/_proxy-waits.mjs [seconds] [connections] [store query]`.
// Starts the OpenAI-shaped upstream and the proxy (SQLite, durable audit, request log on) as the
// proxy bench does, drives it with autocannon (64 connections by default, after a 1 s warm-up), and
// prints, for the timed run only:
// - req/s and autocannon's mean latency (with N connections, N / latency is the throughput);
// - audit commits per second, their mean time from hand-off to answer, and rows per commit (from the
//   proxy's own /metrics, before and after);
// - the machine's CPU split from /proc/stat (idle left over means neither core was the limit);
// - the proxy's CPU per request by thread: `main`, the SQLite writer and checkpointer (worker
//   threads), and V8's helper threads (garbage collection).
// A store query (`?sync=normal`) shows what the fsync costs. Not run by `npm run bench` (files
// starting with `_` are skipped); docs/performance.md keeps results.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ROOT, bundle, child, adminClient, threadCpuMs, perThreadText, CHAT, CHAT_PATH } from './_lib.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';
const [seconds = 6, connections = 64] = process.argv.slice(2, 4).map(Number);
const query = process.argv[4] ?? '';

const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-waits');
mkdirSync(build, { recursive: true });
await bundle(build, { child: join(ROOT, 'test/bench/proxy-child.ts') });
const dir = mkdtempSync(join(tmpdir(), 'tq-waits-'));
const upstream = await child(build, 'openai', {});
const proxy = await child(build, 'proxy', {
  store: `sqlite:${join(dir, 'proxy.db')}${query}`,
  adminToken: ADMIN,
  upstreams: { openai: upstream.url },
  upstreamKeys: [{ vendor: 'openai', secret: 'sk-bench-upstream-000000000000', state: 'active', label: 'main' }],
});

/** user, nice, system, idle, iowait, irq, softirq, steal (jiffies, both cores). */
const cpuSplit = () => readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1, 9).map(Number);
const metric = async (name) => {
  const text = await (
    await fetch(`${proxy.adminUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : 0;
};

try {
  const vk = await adminClient(ADMIN)(proxy.adminUrl, 'POST', '/v1/vault-keys', {
    vendor: 'openai',
    agent_run_id: 'w',
  });
  const load = (duration) =>
    autocannon({
      url: `${proxy.dataUrl}${CHAT_PATH}`,
      method: 'POST',
      connections,
      duration,
      headers: { authorization: `Bearer ${vk.secret}`, 'content-type': 'application/json' },
      body: CHAT,
    });
  await load(1);
  const commits0 = await metric('tourniquet_audit_commit_seconds_count');
  const commitS0 = await metric('tourniquet_audit_commit_seconds_sum');
  const s0 = cpuSplit();
  const t0 = threadCpuMs(proxy.proc.pid);
  const r = await load(seconds);
  const s1 = cpuSplit();
  const t1 = threadCpuMs(proxy.proc.pid);
  const commits = (await metric('tourniquet_audit_commit_seconds_count')) - commits0;
  const commitS = (await metric('tourniquet_audit_commit_seconds_sum')) - commitS0;
  const d = s1.map((v, i) => v - s0[i]);
  const all = d.reduce((a, b) => a + b, 0);
  const share = (i) => `${Math.round((d[i] / all) * 100)} %`;
  const perThread = perThreadText(t0, t1, r['2xx']);
  console.log(
    [
      `${Math.round(r['2xx'] / seconds)} req/s (${r.non2xx} non-2xx, ${r.errors} errors), ${connections} connections, mean latency ${r.latency.average} ms`,
      `audit: ${Math.round(commits / seconds)} commits/s, mean ${((commitS / commits) * 1000).toFixed(2)} ms from hand-off to answer, ${(r['2xx'] / commits).toFixed(1)} rows per commit`,
      `machine: user ${share(0)}, system ${share(2)}, softirq ${share(6)}, iowait ${share(4)}, steal ${share(7)}, idle ${share(3)}`,
      `proxy CPU per request by thread (µs): ${perThread}`,
    ].join('\n'),
  );
} finally {
  proxy.proc.kill('SIGKILL');
  upstream.proc.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
