import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { spawnProxy } from '../proxy/child.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { ADMIN_TOKEN, adminCall, agentCall, freshDatabase, issueKey, sleep, sql, startInstance } from './fleet.js';

interface Outcome {
  target: string;
  path: string;
  status: number;
  code: string | null;
  at: number;
}

/** Agents spread over the instances, each call on a unique path so its audit row can be found. */
function load(targets: Array<{ name: string; url: () => string | null }>, secrets: string[], pauseMs: number) {
  const outcomes: Outcome[] = [];
  let stop = false;
  let seq = 0;
  const agent = async (secret: string, a: number) => {
    while (!stop) {
      const t = targets[seq % targets.length]!;
      const url = t.url();
      const path = `/v1/customers/cus_a${a}_${seq++}`;
      if (url) {
        const r = await agentCall(url, secret, path);
        outcomes.push({ target: t.name, path, ...r, at: performance.now() });
      }
      await sleep(pauseMs);
    }
  };
  const running = secrets.map((s, i) => agent(s, i));
  return {
    outcomes,
    stop: async () => {
      stop = true;
      await Promise.all(running);
    },
  };
}

/** Got an answer from the proxy (a vendor's or a refusal), as opposed to no answer or fail-closed. */
const answered = (o: Outcome) => o.status !== 0 && o.code !== 'store_unavailable';
/** The sandbox answers 404 for the made-up customer ids: still a forwarded, answered call. */
const forwarded = (o: Outcome) => o.status === 200 || (o.status === 404 && o.code === 'resource_missing');

async function missingRows(url: string, outcomes: Outcome[]): Promise<string[]> {
  const rows = await sql<{ path: string }>(url, 'SELECT path FROM agent_call_audit');
  const have = new Set(rows.map((r) => r.path));
  return outcomes.filter((o) => answered(o) && !have.has(o.path)).map((o) => `${o.target} ${o.path} ${o.status}`);
}

describe.skipIf(!pgAvailable())('a fleet under faults', () => {
  let cluster: PgCluster;
  let sandbox: Sandbox;
  let dir: string;
  const running: RunningProxy[] = [];
  beforeAll(async () => {
    cluster = await startPg();
    sandbox = await startSandbox({ timeScale: 0.001 });
    dir = mkdtempSync(join(tmpdir(), 'tq-fleet-'));
    writeFileSync(join(dir, 'admin-token'), ADMIN_TOKEN + '\n', { mode: 0o600 });
    writeFileSync(join(dir, 'proxy.yaml'), 'upstream_keys:\n  - { vendor: stripe, id: up_stripe_main, state: active, secret_env: STRIPE_KEY }\n');
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await sandbox?.stop();
    cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 one instance under load: the others keep serving, stay correct, and it leaves the registry', async () => {
    // Given A and B in this process and C a `tourniquet proxy serve --store postgres://…` child
    const url = await freshDatabase(cluster.url);
    const a = await startInstance(url, sandbox);
    const b = await startInstance(url, sandbox);
    running.push(a, b);
    const c = await spawnProxy(
      ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--store', url, '--admin-token-file', join(dir, 'admin-token'), '--config', join(dir, 'proxy.yaml'), '--upstream', `stripe=${sandbox.urls.stripe}`],
      { STRIPE_KEY: sandbox.keys.stripe.secret },
    );
    const keys = await Promise.all([0, 1, 2].map(() => issueKey(a)));
    await sleep(100);
    let cAlive = true;
    const agents = load(
      [{ name: 'A', url: () => a.dataUrl }, { name: 'B', url: () => b.dataUrl }, { name: 'C', url: () => (cAlive ? c.dataUrl : null) }],
      keys.map((k) => k.secret),
      5,
    );

    // When C is killed mid-load
    await sleep(800);
    c.child.kill('SIGKILL');
    await c.exited;
    const killedAt = performance.now();
    cAlive = false;
    await sleep(600);
    // and a key is revoked through A afterwards
    await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${keys[0]!.id}`);
    const revokedAt = performance.now();
    await sleep(600);
    await agents.stop();

    // Then A and B answered every call after the kill, the revoked key is refused on both
    const afterKill = agents.outcomes.filter((o) => o.at > killedAt && o.target !== 'C');
    expect(afterKill.length).toBeGreaterThan(20);
    const bad = afterKill.filter((o) => !(forwarded(o) || (o.status === 401 && o.code === 'vault_key_revoked')));
    expect(bad).toEqual([]);
    const late = agents.outcomes.filter((o) => o.at > revokedAt + 100 && o.path.startsWith('/v1/customers/cus_a0_'));
    expect(late.length).toBeGreaterThan(0);
    expect(late.filter((o) => o.status !== 401)).toEqual([]);
    // and every answered call, C's before it died included, has its audit row
    expect(agents.outcomes.some((o) => o.target === 'C' && forwarded(o))).toBe(true);
    expect(await missingRows(url, agents.outcomes)).toEqual([]);
    // and C drops out of the instance list once its heartbeat is stale
    await sleep(1_500);
    const list = await adminCall(b.adminUrl, 'GET', '/v1/instances');
    expect(list.body.data.map((i: any) => i.instance_id).sort(), JSON.stringify(list.body)).toEqual([a.instanceId, b.instanceId].sort());
  });

  it('PostgreSQL stopped under load: every instance fails closed with 503, recovers by itself, and no answered call lacks its row', async () => {
    const url = await freshDatabase(cluster.url);
    const inst = await Promise.all([0, 1, 2].map(() => startInstance(url, sandbox)));
    running.push(...inst);
    const keys = await Promise.all([0, 1, 2].map(() => issueKey(inst[0]!)));
    await sleep(100);
    const agents = load(inst.map((p, i) => ({ name: 'ABC'[i]!, url: () => p.dataUrl })), keys.map((k) => k.secret), 10);

    // When the database goes away for two seconds
    await sleep(500);
    cluster.stop('fast');
    const downAt = performance.now();
    await sleep(2_000);
    // Then every instance is refusing agent traffic with 503 store_unavailable
    for (const p of inst) expect(await agentCall(p.dataUrl, keys[1]!.secret)).toEqual({ status: 503, code: 'store_unavailable' });
    expect((await adminCall(inst[0]!.adminUrl, 'GET', '/v1/vault-keys')).status).toBe(503);
    expect((await adminCall(inst[1]!.adminUrl, 'GET', '/v1/health')).body).toMatchObject({ status: 'store_unavailable' });
    cluster.start();
    const upAt = performance.now();

    // And each recovers by itself
    const recovered: number[] = [];
    for (const p of inst) {
      for (;;) {
        if ((await agentCall(p.dataUrl, keys[2]!.secret)).status === 200) break;
        if (performance.now() - upAt > 10_000) throw new Error('instance did not recover within 10 s');
        await sleep(50);
      }
      recovered.push(performance.now() - upAt);
    }
    await sleep(300);
    await agents.stop();

    // The agents saw answers or 503s, nothing else (a call caught mid-write by the stop waits up
    // to auditRetryMs for the database and is answered if it comes back in time)
    const statuses = new Set(agents.outcomes.map((o) => `${o.status} ${o.code ?? ''}`.trim()));
    for (const s of statuses) expect(['404 resource_missing', '503 store_unavailable']).toContain(s);
    expect(agents.outcomes.filter((o) => o.at > downAt).length).toBeGreaterThan(0);
    // Nothing answered 2xx is missing from the audit table after the restart
    expect(await missingRows(url, agents.outcomes)).toEqual([]);
    expect(recovered).toHaveLength(inst.length);
  });
});
