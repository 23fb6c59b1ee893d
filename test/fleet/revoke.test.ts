import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { LISTENER_APP_NAME } from '../../src/proxy/store/postgres-listen.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { allMigrations } from '../../src/proxy/store/postgres-schema.js';
import { adminCall, agentCall, freshDatabase, issueKey, sleep, sql, startInstance, untilRefused } from './fleet.js';
import { until } from '../proxy/faults.js';

describe.skipIf(!pgAvailable())('a fleet on PostgreSQL: revoke anywhere, refused everywhere', () => {
  let cluster: PgCluster;
  let sandbox: Sandbox;
  const running: RunningProxy[] = [];
  beforeAll(async () => {
    cluster = await startPg();
    sandbox = await startSandbox({ timeScale: 0.001 });
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await sandbox?.stop();
    cluster?.destroy();
  });

  it('three instances started at once share one schema; a revoke through A reaches B and C by NOTIFY', async () => {
    // Given three instances that start at the same moment on an empty database; B and C poll
    // so rarely that only a notification can bring them the revoke in time
    const url = await freshDatabase(cluster.url);
    const notifyOnly = { fleet: { reconcileMs: 30_000, maxStalenessMs: 60_000 } };
    const [a, b, c] = await Promise.all([
      startInstance(url, sandbox),
      startInstance(url, sandbox, notifyOnly),
      startInstance(url, sandbox, notifyOnly),
    ]);
    running.push(a, b, c);
    expect(await sql(url, 'SELECT version FROM tourniquet_migrations ORDER BY version')).toEqual(
      allMigrations().map((m) => ({ version: m.version })),
    );

    // and a key issued through A that works on all three
    const key = await issueKey(a, { agent_run_id: 'run_fleet' });
    for (const p of [a, b, c])
      await until(
        `the key served by ${p.instanceId}`,
        async () => (await agentCall(p.dataUrl, key.secret)).status === 200,
      );

    // When A revokes it
    const t0 = performance.now();
    const r = await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}`);
    expect(r.status).toBe(200);

    // Then every instance the answer lists as confirmed refuses it at once (A too), and any it
    // lists as unconfirmed refuses it by notification, long before its 30 s poll. (How fast is
    // measured by `npm run bench -- fleet` over hundreds of revokes, not asserted here.)
    const { confirmed, unconfirmed } = r.body.fleet;
    expect([...confirmed, ...unconfirmed].sort()).toEqual([a.instanceId, b.instanceId, c.instanceId].sort());
    expect(confirmed[0]).toBe(a.instanceId);
    for (const p of [a, b, c].filter((x) => confirmed.includes(x.instanceId)))
      expect(await agentCall(p.dataUrl, key.secret)).toEqual({ status: 401, code: 'vault_key_revoked' });
    for (const p of [b, c].filter((x) => unconfirmed.includes(x.instanceId)))
      await untilRefused(p.dataUrl, key.secret, t0);

    // And every instance lists the other two with its addresses, last sync and revision
    await sleep(1_100);
    const list = await adminCall(b.adminUrl, 'GET', '/v1/instances');
    expect(list.status).toBe(200);
    expect(list.body.data.map((i: any) => i.instance_id).sort()).toEqual(
      [a.instanceId, b.instanceId, c.instanceId].sort(),
    );
    for (const i of list.body.data) {
      expect(i).toMatchObject({
        data_plane_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
        admin_url: expect.stringMatching(/^http:/),
      });
      expect(Date.now() - Date.parse(i.last_sync_at)).toBeLessThan(2_500);
      expect(i.revision).toBeGreaterThan(0);
    }

    // And a stopped instance drops out of the list
    await c.stop();
    running.pop();
    const after = await adminCall(a.adminUrl, 'GET', '/v1/instances');
    expect(after.body.data.map((i: any) => i.instance_id)).not.toContain(c.instanceId);
  });

  it('a hard revoke through A cuts the call B has in flight for that key', async () => {
    // Given a vendor that takes 3 s to answer, and a call to it in flight on B
    const slow = createServer(
      (_req, res) => void setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), 3_000),
    );
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const url = await freshDatabase(cluster.url);
    const a = await startInstance(url, sandbox);
    const b = await startInstance(url, sandbox, { upstreams: { stripe: slowUrl } });
    running.push(a, b);
    const key = await issueKey(a);
    await sleep(50);
    const inflight = agentCall(b.dataUrl, key.secret);
    await sleep(150);
    // When A hard-revokes the key
    const r = await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}?hard=true`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // Then B cuts its call rather than letting the vendor answer (the vendor would have said 200)
    expect(await inflight).toEqual({ status: 401, code: 'vault_key_revoked' });
    expect(await agentCall(b.dataUrl, key.secret)).toEqual({ status: 401, code: 'vault_key_revoked' });
    // (an outcome is written without anyone waiting: the cut call's row says so once its outcome is committed)
    const verdicts = async () =>
      (await sql(url, `SELECT policy_verdict FROM agent_call_audit WHERE vault_key_id = $1 ORDER BY id`, [key.id])).map(
        (x) => x.policy_verdict,
      );
    for (let t0 = Date.now(); (await verdicts())[0] !== 'aborted_hard_revoke' && Date.now() - t0 < 5_000;)
      await sleep(50);
    expect(await verdicts()).toEqual(['aborted_hard_revoke', 'vault_key_revoked']);
    slow.closeAllConnections();
    slow.close();
  });

  it('with NOTIFY lost (one instance not listening, another whose listener is killed) the reconcile converges; the revoke says who had not confirmed', async () => {
    const url = await freshDatabase(cluster.url);
    const a = await startInstance(url, sandbox);
    const deaf = await startInstance(url, sandbox, { store: { notifications: false } });
    const cut = await startInstance(url, sandbox);
    running.push(a, deaf, cut);
    const bound = deaf.fleet.opts.reconcileMs;
    for (let i = 0; i < 5; i++) {
      const key = await issueKey(a);
      await sleep(bound + 50);
      // Kill every LISTEN connection of this database before the revoke: notifications in flight are lost.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
        [LISTENER_APP_NAME],
      );
      await c.end();
      const t0 = performance.now();
      const r = await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}`);
      expect(r.status).toBe(200);
      // Every instance refuses it (by its reconcile poll: no notification reached it); one the
      // answer lists as confirmed refuses it at once. (The lag is measured by the fleet bench.)
      for (const p of [deaf, cut]) {
        if (r.body.fleet.confirmed.includes(p.instanceId))
          expect(await agentCall(p.dataUrl, key.secret)).toEqual({ status: 401, code: 'vault_key_revoked' });
        else await untilRefused(p.dataUrl, key.secret, t0);
      }
    }
    // and the killed listeners came back by themselves
    await until('both listeners back', async () => {
      const listeners = await sql(
        url,
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()`,
        [LISTENER_APP_NAME],
      );
      return listeners[0].n === 2;
    });
  });
});
