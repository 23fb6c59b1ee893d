// Comparison targets for test/bench/proxy.mjs (run.mjs skips files starting with `_`):
//   nginx   a bare reverse proxy before the same upstream (Debian nginx-light; installed where missing)
//   base    the proxy as it was at the base commit (answer after the audit commit), built into its own bundle
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { ROOT, bundle } from './_lib.mjs';

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** nginx's path, installing Debian's nginx-light when it is missing and we may (root, apt); null otherwise. */
export function findNginx() {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(p)) return p;
  if (process.getuid?.() !== 0) return null;
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx-light'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0)
    spawnSync('sh', ['-c', 'apt-get update -q && apt-get install -y -q --no-install-recommends nginx-light'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  return existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null;
}

/** nginx with one worker (like the single Node process it is compared with), keep-alive to the upstream. */
export async function startNginx(upstream) {
  const bin = findNginx();
  if (!bin) return null;
  const dir = mkdtempSync(join(tmpdir(), 'tq-bench-nginx-'));
  const port = await freePort();
  const up = new URL(upstream);
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream vendor { server ${up.hostname}:${up.port}; keepalive 256; }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    keepalive_requests 100000;
    location / { proxy_pass http://vendor; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}`;
  writeFileSync(join(dir, 'nginx.conf'), conf);
  // Its own process group: stop() takes the worker with the master, even when the master was killed first.
  const proc = spawn(bin, ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore', detached: true });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(url + '/');
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const stop = () => {
    try {
      process.kill(-proc.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { proc, url, stop };
}

/**
 * The previous design, from the commit this branch started from (`git merge-base HEAD main`; on
 * main itself that is HEAD, so the column then measures the same code twice: the run's noise),
 * or from TOURNIQUET_BENCH_BASE (any revision, e.g. the commit a session started from):
 * its sources exported into a temporary directory outside the repository, bundled with its own
 * bench child, so both designs run in the same harness. Null when git or the commit is missing.
 */
export async function buildBase(outDir) {
  let sha;
  try {
    const rev = process.env.TOURNIQUET_BENCH_BASE;
    sha = execFileSync('git', rev ? ['rev-parse', '--verify', `${rev}^{commit}`] : ['merge-base', 'HEAD', 'main'], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
  } catch {
    return null;
  }
  const src = mkdtempSync(join(tmpdir(), 'tq-bench-base-'));
  try {
    execFileSync('sh', ['-c', `git archive ${sha} src test/bench/proxy-child.ts tsconfig.json | tar -x -C "${src}"`], {
      cwd: ROOT,
    });
    mkdirSync(outDir, { recursive: true });
    await bundle(outDir, { child: join(src, 'test/bench/proxy-child.ts') }, src);
    return { sha, dir: outDir };
  } finally {
    rmSync(src, { recursive: true, force: true });
  }
}
