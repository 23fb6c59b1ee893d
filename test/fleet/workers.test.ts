import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { ADMIN_TOKEN, adminCall, freshDatabase, sql } from './fleet.js';
import { childConfigDir, instanceArgs } from './children.js';
import { proxyProcess, spawnProxy, type ChildProxy } from '../proxy/child.js';
import { until } from '../proxy/faults.js';

const STRIPE_KEY = 'sk_test_workers_0123456789abcdef';

interface Worker {
  instance_id: string;
  pid: number;
  data_plane_url: string;
  admin_url: string;
}

interface Served extends ChildProxy {
  workers: Worker[];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const serveEnv = () => ({ STRIPE_KEY, ...isolatedEnv() });

/** Runs `proxy serve` to its end (for a start that must fail). */
function serveToEnd(args: string[]): Promise<Run> {
  const child = proxyProcess(args, serveEnv());
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Starts `proxy serve --workers N`; resolves on its ready line (the shared URLs and every worker). */
async function serveWorkers(args: string[]): Promise<Served> {
  const p = await spawnProxy(args, serveEnv());
  return { ...p, workers: p.ready.workers as Worker[] };
}

/** One agent call on a connection of its own (no keep-alive: the cluster hands each connection to a worker). */
function freshCall(dataUrl: string, secret: string, path = '/v1/customers'): Promise<{ status: number; code: string }> {
  return new Promise((resolve) => {
    const req = request(
      `${dataUrl}${path}`,
      { agent: false, headers: { authorization: `Bearer ${secret}`, connection: 'close' } },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          let code = '';
          try {
            code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? '';
          } catch {
            // not JSON: no code
          }
          resolve({ status: res.statusCode ?? 0, code });
        });
      },
    );
    req.on('error', (e) => resolve({ status: 0, code: e.message }));
    req.setTimeout(30_000, () => req.destroy(new Error('no answer in 30 s')));
    req.end();
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const ids = (ws: Worker[]) => ws.map((w) => w.instance_id).sort();

describe.skipIf(!pgAvailable())('proxy serve --workers: one fleet instance per worker process', () => {
  let cluster: PgCluster;
  let upstream: TestServer;
  let dir: string;
  /** Calls to `/v1/hang` wait here until the test lets them go. */
  const hanging: ServerResponse[] = [];
  const running: Served[] = [];
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  beforeAll(async () => {
    cluster = await startPg();
    upstream = await startServer((req, res) => {
      if (req.url.startsWith('/v1/hang')) return void hanging.push(res);
      json(res, 200, { object: 'list', data: [] });
    });
    dir = childConfigDir();
  });
  afterEach(async () => {
    for (const r of hanging.splice(0)) json(r, 200, { object: 'list', data: [] });
    for (const s of running.splice(0)) {
      s.child.kill('SIGKILL');
      for (const w of s.workers) if (alive(w.pid)) process.kill(w.pid, 'SIGKILL');
    }
  });
  afterAll(async () => {
    await upstream?.close();
    cluster?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const args = (store: string, extra: string[] = []) => instanceArgs(store, dir, upstream.url, extra);

  async function start(n = 2): Promise<{ s: Served; url: string }> {
    const url = await freshDatabase(cluster.url, 'workers');
    const s = await serveWorkers(args(url, ['--workers', String(n)]));
    running.push(s);
    return { s, url };
  }

  async function issue(s: Served): Promise<{ id: string; secret: string }> {
    const r = await adminCall(s.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // Every worker has the key before the test leans on it (each answers from its own memory).
    for (const w of s.workers)
      await until(
        `the key served by ${w.instance_id}`,
        async () => (await freshCall(w.data_plane_url, r.body.secret)).status === 200,
      );
    return r.body;
  }

  it('(a) calls over fresh connections to the shared port are served by both workers, each under its own instance id', async () => {
    // Given two workers on one PostgreSQL store
    const { s, url } = await start();
    expect(s.workers).toHaveLength(2);
    expect(new Set(s.workers.map((w) => w.pid)).size).toBe(2);
    // and each advertised in the registry at ports of its own, not the shared ones
    const listed = await adminCall(s.adminUrl, 'GET', '/v1/instances');
    expect(listed.body.data.map((i: any) => i.instance_id).sort()).toEqual(ids(s.workers));
    for (const i of listed.body.data) expect([s.adminUrl, s.dataUrl]).not.toContain(i.admin_url);
    const key = await issue(s);

    // When an agent makes 40 calls to the shared data port, each on a new connection
    const results = [];
    for (let i = 0; i < 40; i++) results.push(await freshCall(s.dataUrl, key.secret, `/v1/customers/cus_a${i}`));

    // Then all are served, and the audit rows name both workers' instances
    expect(results.every((r) => r.status === 200)).toBe(true);
    const rows = await sql<{ instance_id: string }>(
      url,
      "SELECT DISTINCT instance_id FROM agent_call_audit WHERE path LIKE '/v1/customers/cus_a%'",
    );
    expect(rows.map((r) => r.instance_id).sort()).toEqual(ids(s.workers));
  }, 90_000);

  it('(b) a revoke through the shared admin port is confirmed by both workers and refused at once over fresh connections', async () => {
    // Given two workers that both serve a key
    const { s, url } = await start();
    const key = await issue(s);

    // When it is revoked through the shared admin port
    const r = await adminCall(s.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}`);
    expect(r.status).toBe(200);

    // Then the answer lists both workers as confirmed
    expect(r.body.fleet.unconfirmed).toEqual([]);
    expect([...r.body.fleet.confirmed].sort()).toEqual(ids(s.workers));
    // and right after it, 40 calls on fresh connections are all refused
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => freshCall(s.dataUrl, key.secret, `/v1/customers/cus_b${i}`)),
    );
    expect(results.filter((x) => x.status !== 401 || x.code !== 'vault_key_revoked')).toEqual([]);
    // by both workers, as their refusal rows say
    await until('the refusal rows', async () => {
      const n = await sql(url, "SELECT 1 FROM agent_call_audit WHERE path LIKE '/v1/customers/cus_b%'");
      return n.length === 40;
    });
    const rows = await sql<{ instance_id: string; policy_verdict: string }>(
      url,
      "SELECT DISTINCT instance_id, policy_verdict FROM agent_call_audit WHERE path LIKE '/v1/customers/cus_b%'",
    );
    expect(rows.map((x) => x.policy_verdict)).toEqual(rows.map(() => 'vault_key_revoked'));
    expect(rows.map((x) => x.instance_id).sort()).toEqual(ids(s.workers));
  }, 90_000);

  it('(c) tourniquet revoke verifies the refusal at every worker, each at its own admin port', async () => {
    // Given two workers, and the operator's profile pointing at the shared admin port, trusting
    // the workers' own ports on that host
    const { s } = await start();
    const key = await issue(s);
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: s.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_TRUSTED_INSTANCES: 'http://127.0.0.1:*',
    });

    // When the key is revoked with the CLI
    const r = await runInProcess(['revoke', key.id, '--yes', '--json'], { env });

    // Then it is verified (exit 0): every worker was asked and said it refuses the key
    expect(r.code, r.stderr).toBe(0);
    const instances = JSON.parse(r.stdout).results[0].instances as Array<{ instance_id: string; refused: boolean }>;
    expect(instances.map((i) => i.instance_id).sort()).toEqual(ids(s.workers));
    expect(instances.every((i) => i.refused)).toBe(true);
  }, 90_000);

  it('(d) a worker killed with SIGKILL is replaced; calls go on; its pending rows are swept as a dead instance’s', async () => {
    // Given two workers, each holding calls that wait on the vendor (pending audit rows)
    const { s, url } = await start();
    const key = await issue(s);
    const held = Array.from({ length: 8 }, (_, i) => freshCall(s.dataUrl, key.secret, `/v1/hang/${i}`));
    const pendingBy = async () =>
      (
        await sql<{ instance_id: string; n: string }>(
          url,
          "SELECT instance_id, count(*) AS n FROM agent_call_audit WHERE outcome = 'pending' GROUP BY instance_id",
        )
      ).map((r) => r.instance_id);
    await until('every held call at the vendor', () => hanging.length === 8);
    await until('pending rows on both workers', async () => (await pendingBy()).length === 2);
    const [victim, survivor] = s.workers as [Worker, Worker];

    // When one worker is killed outright
    process.kill(victim.pid, 'SIGKILL');
    await until('the primary notices', () =>
      s.stderr().includes(`worker ${victim.instance_id} exited (signal SIGKILL)`),
    );

    // Then calls over fresh connections keep succeeding
    const during = await Promise.all(
      Array.from({ length: 20 }, (_, i) => freshCall(s.dataUrl, key.secret, `/v1/customers/cus_d${i}`)),
    );
    expect(during.filter((r) => r.status !== 200)).toEqual([]);
    // and the primary starts a new worker, a new instance in the registry that serves calls
    let fresh: any;
    await until('a replacement instance', async () => {
      const list = (await adminCall(survivor.admin_url, 'GET', '/v1/instances')).body.data as any[];
      fresh = list.find((i) => i.instance_id !== victim.instance_id && i.instance_id !== survivor.instance_id);
      return !!fresh;
    });
    expect(alive(s.child.pid!)).toBe(true);
    await until(
      'the replacement serves',
      async () => (await freshCall(fresh.data_plane_url, key.secret)).status === 200,
    );
    // And the dead worker's pending rows are marked outcome unknown by the fleet's sweep; the
    // survivor's calls, still waiting on the vendor, stay pending
    await until(
      'the dead instance swept',
      async () =>
        (
          await sql(url, "SELECT 1 FROM agent_call_audit WHERE instance_id = $1 AND outcome = 'pending'", [
            victim.instance_id,
          ])
        ).length === 0,
      30_000,
    );
    const swept = await sql(url, "SELECT 1 FROM agent_call_audit WHERE instance_id = $1 AND outcome = 'unknown'", [
      victim.instance_id,
    ]);
    expect(swept.length).toBeGreaterThan(0);
    expect(await pendingBy()).toEqual([survivor.instance_id]);
    for (const r of hanging.splice(0)) json(r, 200, { object: 'list', data: [] });
    await Promise.all(held);
  }, 90_000);

  it('(e) --workers 2 on a SQLite store is refused as bad usage, saying why and what to do', async () => {
    const r = await serveToEnd(args(`sqlite:${join(dir, 'w.db')}`, ['--workers', '2']));
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.stdout);
    expect(error.kind).toBe('usage');
    expect(error.message).toMatch(/--workers 2 needs a shared PostgreSQL store/);
    expect(error.hint).toMatch(/--store postgres:\/\/USER@HOST\/DB/);
  }, 60_000);

  it('(e) a configuration error in the workers ends the primary once, with its exit code and message', async () => {
    // A master key file that does not exist: every worker fails to start the same way
    const url = await freshDatabase(cluster.url, 'workers');
    const r = await serveToEnd(args(url, ['--workers', '2', '--master-key-file', join(dir, 'no-such-key')]));
    expect(r.code, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({ kind: 'usage', message: expect.stringMatching(/no-such-key/) });
    expect(r.stderr.match(/cannot read the master key file/g), r.stderr).toHaveLength(1);
    expect(r.stderr).not.toMatch(/starting a new one/);
  }, 60_000);

  it('workers that keep dying (5 exits within 30 s) stop the primary: exit 1, the reason, no process left', async () => {
    // Given two workers, and every worker (the replacements too) killed as soon as it is seen
    const { s } = await start();
    const seen = () => [
      ...s.workers.map((w) => w.pid),
      ...[...s.stderr().matchAll(/"msg":"worker started".*?"pid":(\d+)/g)].map((m) => Number(m[1])),
    ];
    const killed = new Set<number>();
    let code: number | null | undefined;
    void s.exited.then((c) => (code = c));
    await until(
      'the primary gives up',
      () => {
        for (const pid of seen())
          if (!killed.has(pid) && alive(pid)) {
            killed.add(pid);
            process.kill(pid, 'SIGKILL');
          }
        return code !== undefined;
      },
      40_000,
    );
    // Then it stopped after the fifth exit, said why, and left nothing running
    expect(killed.size).toBeGreaterThanOrEqual(5);
    expect(code).toBe(1);
    expect(s.stderr()).toMatch(/workers are crash-looping: 5 exits within 30 s/);
    expect(seen().filter(alive)).toEqual([]);
  }, 60_000);

  it('(f) SIGHUP while a replacement worker starts does not kill it', async () => {
    const { s } = await start();
    process.kill(s.workers[0]!.pid, 'SIGKILL');
    // SIGHUP to the primary every 25 ms, all through the replacement's start (before it listens for SIGHUP, the
    // signal's default action would end it)
    await until(
      'a replacement started',
      async () => {
        s.child.kill('SIGHUP');
        await new Promise((r) => setTimeout(r, 25));
        return /"msg":"worker started"/.test(s.stderr());
      },
      30_000,
    );
    for (let i = 0; i < 10; i++) {
      s.child.kill('SIGHUP');
      await new Promise((r) => setTimeout(r, 25));
    }
    const started = [...s.stderr().matchAll(/"msg":"worker started".*?"pid":(\d+)/g)].map((m) => Number(m[1]));
    expect(started, s.stderr()).toHaveLength(1);
    expect(alive(started[0]!)).toBe(true);
    expect(alive(s.child.pid!)).toBe(true);
    // Only the worker killed on purpose exited; none by SIGHUP
    expect(s.stderr()).not.toMatch(/signal SIGHUP/);
    expect(s.stderr().match(/exited \(/g), s.stderr()).toHaveLength(1);
  }, 60_000);

  it('(f) SIGHUP reaches every worker; SIGTERM stops every worker gracefully and exits 0, leaving no process behind', async () => {
    const { s } = await start();
    // (SIGHUP first: passed on to every worker, each reloads its token file; the primary stays)
    s.child.kill('SIGHUP');
    await until('both workers reloaded', () => s.stderr().match(/"msg":"admin tokens reloaded"/g)?.length === 2);
    expect(alive(s.child.pid!)).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.workers.filter((w) => alive(w.pid))).toEqual([]);
    expect(s.stderr().match(/"msg":"proxy stopped"/g)).toHaveLength(2);
  }, 60_000);
});
