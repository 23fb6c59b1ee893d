// Shared by the benchmark modules (run.mjs skips files starting with `_`).
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The p-th percentile (nearest rank); NaN for no samples. */
export const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/**
 * An open-loop load generator: `rps` requests a second for `seconds`, on a schedule that never
 * waits for answers (so no coordinated omission). It sleeps between sends instead of spinning:
 * each timer tick (about 1 ms) sends every request whose time has come. A spinning generator
 * holds one of this machine's two cores, and the proxy's threads then queue behind each other
 * on the other one, which is not what an agent on its own machine sees. `send(i)` resolves to
 * [status, sentAt]; latency is from the moment the request was handed to the client (its pool
 * queues it when every connection is busy, and that wait is counted).
 */
export async function openLoop(send, rps, seconds, expect = 200) {
  const lat = [];
  const statuses = {};
  const total = Math.round(rps * seconds);
  const t0 = performance.now();
  const pending = [];
  const dueAt = (i) => t0 + (i * 1000) / rps;
  let i = 0;
  while (i < total) {
    for (const now = performance.now(); i < total && dueAt(i) <= now; i++) {
      const sentAt = performance.now();
      pending.push(
        send(i).then(
          (status) => {
            if (status === expect) lat.push(performance.now() - sentAt);
            else statuses[status] = (statuses[status] ?? 0) + 1;
          },
          () => (statuses.network = (statuses.network ?? 0) + 1),
        ),
      );
    }
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, dueAt(i) - performance.now())));
  }
  await Promise.all(pending);
  const errors = Object.values(statuses).reduce((a, b) => a + b, 0);
  return { lat, errors, statuses };
}

/** Bundle TypeScript entry points into dir, for child processes that must not pay tsx's start. */
export async function bundle(dir, entryPoints, from = ROOT) {
  const { build } = await import('esbuild');
  await build({
    absWorkingDir: from,
    entryPoints,
    outdir: dir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
}

/** Start dir/child.js in a role (`nodeArgs`: Node's own flags, e.g. --cpu-prof); resolves with the first JSON line it prints (its addresses). */
export function child(dir, role, cfg, nodeArgs = []) {
  const p = spawn(process.execPath, [...nodeArgs, join(dir, 'child.js'), role], {
    env: { ...process.env, BENCH_CFG: JSON.stringify(cfg) },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return readyLine(p, role);
}

/** A started process's first JSON line on stdout (its addresses), with the process: `{ proc, ...line }`. */
export function readyLine(p, what, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), timeoutMs);
    p.stdout.on('data', (d) => {
      out += d;
      // Whole lines only: a chunk may end in the middle of the JSON line.
      const line = out
        .split('\n')
        .slice(0, -1)
        .find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve({ proc: p, ...JSON.parse(line) });
      }
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited ${code}`));
    });
  });
}

/** What an agent sends most, and what the proxy benchmarks send: a chat completion. */
export const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello.' }] });
export const CHAT_PATH = '/v1/chat/completions';

/** Maximum throughput: autocannon, closed loop, `connections` connections, POSTing CHAT for `seconds`. */
export async function maxRate(url, auth, seconds, connections = 64) {
  const { default: autocannon } = await import('autocannon');
  const r = await autocannon({
    url: url + CHAT_PATH,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: CHAT,
  });
  return { rps: r['2xx'] / seconds, done: r['2xx'], errors: r.errors + r.non2xx };
}

/** A caller of the proxy's admin API with this token. */
export const adminClient = (token) => async (url, method, path, body) => {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  return r.json();
};

/** A throwaway master key for a benchmark's proxies (they seal production keys added through the admin API). */
export const benchMasterKey = () => ({
  from: 'env',
  name: 'BENCH_MASTER_KEY',
  value: randomBytes(32).toString('base64'),
});

/** CPU time (ms) a process and its children (nginx's worker) have used, from /proc (Linux; null elsewhere). 10 ms resolution. */
export function cpuMs(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return (Number(f[11]) + Number(f[12])) * 10 + kids.reduce((sum, k) => sum + (cpuMs(Number(k)) ?? 0), 0);
  } catch {
    return null;
  }
}

/** CPU time (ms) of each thread of a process by name (`main`; the others by their thread name), from /proc (Linux). */
export function threadCpuMs(pid) {
  const out = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = tid === String(pid) ? 'main' : `${comm}#${tid}`;
      const f = stat.split(') ')[1].split(' ');
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    }
  } catch {
    // gone, or not Linux
  }
  return out;
}

/** `main 205, node#123 13, …`: µs of CPU per request of each thread, between two `threadCpuMs` readings. */
export function perThreadText(before, after, requests) {
  return Object.entries(after)
    .map(([name, ms]) => [name, Math.round(((ms - (before[name] ?? 0)) * 1000) / requests)])
    .filter(([, us]) => us > 0)
    .map(([name, us]) => `${name} ${us}`)
    .join(', ');
}
