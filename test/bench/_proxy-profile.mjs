// Where the proxy's time goes under load (issue 15): `node test/bench/_proxy-profile.mjs [seconds]`.
// Starts the OpenAI-shaped upstream and the proxy (SQLite store, durable audit on, request log on
// like `proxy serve`, to /dev/null) in their own processes, the proxy under `node --cpu-prof`,
// drives it with autocannon (64 connections, POST /v1/chat/completions), stops it, and prints the
// top frames by self time and by total time, plus self time grouped by where the code lives.
// Not run by `npm run bench` (files starting with `_` are skipped); docs/performance.md keeps results.
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { ROOT, bundle, child, adminClient, cpuMs, threadCpuMs, perThreadText, CHAT } from './_lib.mjs';

const ADMIN = 'bench-admin-token-0123456789abcdef';

/** The frames of a .cpuprofile: self and total time (ms) per function, and self time per place. */
export function summarise(profile, top = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const fnKey = (n) => {
    const f = n.callFrame;
    const file = f.url.split('/').slice(-2).join('/') || '(native)';
    return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
  };
  const self = new Map();
  const total = new Map();
  const place = new Map();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    all += ms;
    const n = byId.get(id);
    const k = fnKey(n);
    self.set(k, (self.get(k) ?? 0) + ms);
    const where = placeOf(n.callFrame);
    place.set(where, (place.get(where) ?? 0) + ms);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) seen.add(fnKey(byId.get(cur)));
    for (const s of seen) total.set(s, (total.get(s) ?? 0) + ms);
  });
  const rows = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, ms]) => ({ frame: k, ms: Math.round(ms), pct: Math.round((ms / all) * 1000) / 10 }));
  const ours = new Map([...total].filter(([k]) => k.includes('tourniquet-bench-profile')));
  return { totalMs: Math.round(all), self: rows(self), total: rows(total), places: rows(place), ours: rows(ours) };
}

/** Where a frame's code lives: Node's internals by area, a dependency by name, or the proxy's bundle. */
function placeOf(f) {
  const u = f.url;
  if (!u) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  if (u.includes('tourniquet-bench-profile')) return 'tourniquet (bundle)';
  const dep = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(u);
  if (dep) return dep[1];
  if (u.startsWith('node:'))
    return u
      .replace(/^node:internal\//, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  return 'tourniquet (bundle)';
}

export function table(rows) {
  return rows.map((r) => `| ${r.frame.replace(/\|/g, '\\|')} | ${r.ms} | ${r.pct} % |`).join('\n');
}

async function main() {
  const seconds = Number(process.argv[2] ?? 10);
  const top = Number(process.argv[3] ?? 15);
  const build = join(ROOT, 'node_modules', '.cache', 'tourniquet-bench-profile');
  mkdirSync(build, { recursive: true });
  // PROFILE_SRC: another checkout's root (e.g. main's sources exported with this proxy-child.ts), for a before/after.
  const from = process.env.PROFILE_SRC ?? ROOT;
  await bundle(build, { child: join(from, 'test/bench/proxy-child.ts') }, from);
  const dir = mkdtempSync(join(tmpdir(), 'tq-profile-'));
  const profDir = join(dir, 'prof');
  const upstream = await child(build, 'openai', {});
  const proxy = await child(
    build,
    'proxy',
    {
      store: `sqlite:${join(dir, 'proxy.db')}${process.env.PROFILE_STORE_QUERY ?? ''}`,
      ...(process.env.PROFILE_NO_LOG ? { log: false } : {}),
      adminToken: ADMIN,
      upstreams: { openai: upstream.url },
      upstreamKeys: [{ vendor: 'openai', secret: 'sk-bench-upstream-000000000000', state: 'active', label: 'main' }],
    },
    [
      ...(process.env.PROFILE_CPU_ONLY ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`]),
      ...(process.env.PROFILE_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  );
  try {
    const vk = await adminClient(ADMIN)(proxy.adminUrl, 'POST', '/v1/vault-keys', {
      vendor: 'openai',
      agent_run_id: 'profile',
    });
    const c0 = cpuMs(proxy.proc.pid);
    const t0 = threadCpuMs(proxy.proc.pid);
    const r = await autocannon({
      url: `${proxy.dataUrl}/v1/chat/completions`,
      method: 'POST',
      connections: 64,
      duration: seconds,
      headers: { authorization: `Bearer ${vk.secret}`, 'content-type': 'application/json' },
      body: CHAT,
    });
    const cpu = (cpuMs(proxy.proc.pid) - c0) / r['2xx'];
    const t1 = threadCpuMs(proxy.proc.pid);
    const perThread = perThreadText(t0, t1, r['2xx']);
    console.log(
      `load: ${Math.round(r['2xx'] / seconds)} req/s 2xx, ${r.non2xx} non-2xx, ${r.errors} errors; ` +
        `proxy CPU ${Math.round(cpu * 1000)} µs/request (by thread: ${perThread}); load average ${loadavg().join(' ')}`,
    );
    await new Promise((res) => (proxy.proc.once('exit', res), proxy.proc.kill('SIGTERM')));
    if (process.env.PROFILE_CPU_ONLY) return;
    // One file per thread: the main thread's is the largest (the SQLite writer thread's is small).
    const files = readdirSync(profDir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => readFileSync(join(profDir, f), 'utf8'))
      .sort((a, b) => b.length - a.length);
    // PROFILE_KEEP=FILE: keep the main thread's profile (e.g. to open in Chrome's DevTools).
    if (process.env.PROFILE_KEEP) writeFileSync(process.env.PROFILE_KEEP, files[0]);
    const s = summarise(JSON.parse(files[0]), top);
    for (const f of files.slice(1)) {
      const w = summarise(JSON.parse(f), 8);
      const idle = w.self.find((r) => r.frame.startsWith('(idle)'))?.ms ?? 0;
      console.log(
        `other thread: ${w.totalMs} ms sampled, ${w.totalMs - idle} ms busy; top: ${w.self.map((r) => `${r.frame.split(' ')[0]} ${r.ms}`).join(', ')}`,
      );
    }
    console.log(`profile: ${s.totalMs} ms sampled\n`);
    for (const [title, rows] of [
      ['self time', s.self],
      ['total time', s.total],
      ['self time by place', s.places],
      ["tourniquet's own functions by total time", s.ours],
    ])
      console.log(`### ${title}\n\n| frame | ms | share |\n|---|---:|---:|\n${table(rows)}\n`);
  } finally {
    proxy.proc.kill('SIGKILL');
    upstream.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
