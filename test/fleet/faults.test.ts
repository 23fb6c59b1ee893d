import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunningProxy } from '../../src/proxy/index.js';
import type { ChildProxy } from '../proxy/child.js';
import { pgAvailable } from '../helpers/pg.js';
import { adminCall, agentCall, freshDatabase, issueKey, sql, startInstance } from './fleet.js';
import { childWorld, type ChildWorld } from './children.js';
import { agents, forwarded, missingRows, until, vendorCount } from '../proxy/faults.js';

const auditPaths = async (url: string) =>
  (await sql<{ path: string }>(url, 'SELECT path FROM agent_call_audit')).map((r) => r.path);
const storeStatus = async (url: string, id: string) =>
  (await sql<{ status: string }>(url, 'SELECT status FROM vault_keys WHERE id = $1', [id]))[0]?.status;

describe.skipIf(!pgAvailable())('a fleet under faults', () => {
  let world: ChildWorld;
  const running: RunningProxy[] = [];
  beforeAll(async () => {
    world = await childWorld();
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await world?.stop();
  });

  it('kill -9 one instance under load: the others keep serving and stay correct; no call reached the vendor without its row', async () => {
    // Given A and B in this process and C a `tourniquet proxy serve --store postgres://…` child
    const { cluster, sandbox } = world;
    const url = await freshDatabase(cluster.url);
    const a = await startInstance(url, sandbox);
    const b = await startInstance(url, sandbox);
    running.push(a, b);
    const c = await world.spawn(url);
    const keys = await Promise.all([0, 1, 2].map(() => issueKey(a)));
    let cAlive = true;
    const targets = [() => a.dataUrl, () => b.dataUrl, () => (cAlive ? c.dataUrl : null)];
    const atVendor = vendorCount(sandbox, 'k9');
    const loads = targets.map((t, i) =>
      agents(t, () => keys.map((k) => k.secret), `k9${'abc'[i]}`, { concurrency: 3, pauseMs: 5 }),
    );
    await until('C serving', () => loads[2]!.outcomes.filter(forwarded).length > 10);

    // When C is killed mid-load
    c.child.kill('SIGKILL');
    await c.exited;
    const killedAt = performance.now();
    cAlive = false;
    // and a key is revoked through A afterwards
    const del = await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${keys[0]!.id}`);
    expect(del.body).toMatchObject({
      durable: true,
      fleet: { confirmed: expect.arrayContaining([a.instanceId, b.instanceId]) },
    });
    const revokedAt = performance.now();
    const afterRevoke = () =>
      [...loads[0]!.outcomes, ...loads[1]!.outcomes].filter((o) => o.sentAt > revokedAt && o.key === keys[0]!.secret);
    await until('calls with the revoked key after the revoke', () => afterRevoke().length > 5);
    await Promise.all(loads.map((l) => l.stop()));
    atVendor.stop();

    // Then A and B answered every call after the kill; the revoked key is refused on both
    const afterKill = [...loads[0]!.outcomes, ...loads[1]!.outcomes].filter((o) => o.sentAt > killedAt);
    expect(
      afterKill
        .filter((o) => !(forwarded(o) || (o.status === 401 && o.code === 'vault_key_revoked')))
        .map((o) => `${o.status} ${o.code}`),
    ).toEqual([]);
    const late = afterRevoke();
    expect(
      late
        .filter((o) => o.code !== 'vault_key_revoked')
        .map((o) => `late ${o.status} ${o.code} ${o.sentAt - revokedAt}`),
    ).toEqual([]);
    // and every call that reached the vendor, C's too, has its audit row
    await Promise.all([a.audit.drain(), b.audit.drain()]);
    expect(missingRows(atVendor.seen, await auditPaths(url))).toEqual([]);
    expect(atVendor.seen.size).toBeGreaterThanOrEqual(loads.flatMap((l) => l.outcomes).filter(forwarded).length);
    // and C drops out of the instance list once its heartbeat is stale; its pending rows read as outcome unknown
    await until(
      'C gone from the registry',
      async () =>
        !(await adminCall(b.adminUrl, 'GET', '/v1/instances')).body.data.some((i: any) => i.admin_url === c.adminUrl),
    );
    await until(
      "C's pending rows swept",
      async () =>
        (await sql(url, `SELECT 1 FROM agent_call_audit WHERE outcome = 'pending' AND path LIKE '%k9c%'`)).length === 0,
    );
  }, 60_000);

  it('PostgreSQL stopped under load and during a revoke: nothing forwarded unrecorded, the revoke C1 and never lost', async () => {
    // Given three instances under load, one of them a child with its revoke journal
    const { cluster, sandbox } = world;
    const url = await freshDatabase(cluster.url);
    const inst = await Promise.all([0, 1].map(() => startInstance(url, sandbox)));
    running.push(...inst);
    const journal = mkdtempSync(join(tmpdir(), 'tq-journal-'));
    let c: ChildProxy | null = await world.spawn(url, journal);
    const keys = await Promise.all([0, 1, 2].map(() => issueKey(inst[0]!)));
    const target = await issueKey(inst[0]!);
    const atVendor = vendorCount(sandbox, 'pg');
    const urls = [() => inst[0]!.dataUrl, () => inst[1]!.dataUrl, () => c?.dataUrl ?? null];
    const loads = urls.map((u, i) =>
      agents(u, () => keys.map((k) => k.secret), `pg${i}`, { concurrency: 3, pauseMs: 5 }),
    );
    await until('calls flowing', () => loads.every((l) => l.outcomes.filter(forwarded).length > 5));

    // When the database goes away
    cluster.stop('fast');
    const downAt = performance.now();
    // Then a revoke through C is refused there at once but answered 503 revoke_not_durable (journaled), twice
    for (let i = 0; i < 2; i++) {
      const r = await adminCall(c.adminUrl, 'DELETE', `/v1/vault-keys/${target.id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      expect(r.body).toMatchObject({
        error: { code: 'revoke_not_durable' },
        id: target.id,
        refused_here: true,
        journaled: true,
      });
    }
    // and every instance fails closed (503) rather than forwarding unrecorded
    await until('every instance refusing', async () => {
      const rs = await Promise.all(urls.map((u) => agentCall(u()!, keys[1]!.secret, '/v1/customers/cus_probe_x')));
      return rs.every((r) => r.status === 503 && r.code === 'store_unavailable');
    });
    expect((await adminCall(inst[1]!.adminUrl, 'GET', '/v1/health')).body).toMatchObject({
      status: 'store_unavailable',
    });
    // and C is killed while the revoke is only in its journal
    c.child.kill('SIGKILL');
    await c.exited;
    c = null;

    // When the database is back and C restarts on the same journal
    cluster.start();
    c = await world.spawn(url, journal);
    // Then the journaled revoke reaches the store, and every instance refuses the key
    await until('revoke replayed into the store', async () => (await storeStatus(url, target.id)) === 'revoked');
    for (const u of urls)
      await until(
        'refused',
        async () => (await agentCall(u()!, target.secret, '/v1/customers/cus_probe_y')).code === 'vault_key_revoked',
      );
    // and a repeated DELETE is 200 with the store's answer
    const again = await adminCall(inst[0]!.adminUrl, 'DELETE', `/v1/vault-keys/${target.id}`);
    expect(again.body).toMatchObject({ durable: true, already_revoked: true });
    const upAt = performance.now();
    await until('calls answered again', () =>
      loads.every((l) => l.outcomes.some((o) => o.sentAt > upAt && forwarded(o))),
    );
    await Promise.all(loads.map((l) => l.stop()));
    atVendor.stop();
    await Promise.all(inst.map((p) => p.audit.drain()));

    // And no call reached the vendor without its row; the agents saw answers or 503s, nothing else
    expect(missingRows(atVendor.seen, await auditPaths(url))).toEqual([]);
    expect(atVendor.seen.size).toBeGreaterThanOrEqual(loads.flatMap((l) => l.outcomes).filter(forwarded).length);
    const statuses = new Set(loads.flatMap((l) => l.outcomes).map((o) => `${o.status} ${o.code ?? ''}`.trim()));
    for (const s of statuses) expect(['404 resource_missing', '503 store_unavailable', '0']).toContain(s);
    expect(loads.flatMap((l) => l.outcomes).some((o) => o.sentAt > downAt && o.code === 'store_unavailable')).toBe(
      true,
    );
  }, 90_000);
});
