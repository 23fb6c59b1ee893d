import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProxy } from '../proxy/child.js';
import { pgAvailable } from '../helpers/pg.js';
import { adminCall, freshDatabase, sleep, sql } from './fleet.js';
import { childWorld, type ChildWorld } from './children.js';
import { agents, missingRows, vendorCount } from '../proxy/faults.js';

interface Revoke {
  id: string;
  statuses: number[];
  codes: string[];
  alreadyRevoked: boolean[];
}

/** Issue a key and revoke it, again and again, retrying a DELETE until it is answered 200 (as the CLI does). */
async function churn(p: ChildProxy, until: () => boolean, out: Revoke[], errors: string[]): Promise<void> {
  while (!until()) {
    const issued = await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' }).catch((e) => ({
      status: 0,
      body: String(e),
    }));
    if (issued.status !== 201) {
      // (503: the store is away; 0: a keep-alive connection the server closed as the request went out)
      if (issued.status !== 503 && issued.status !== 0)
        errors.push(`issue ${issued.status} ${JSON.stringify(issued.body)}`);
      await sleep(20);
      continue;
    }
    await revoke(p, issued.body.id, out, errors);
  }
}

/** DELETE a key until it is answered 200, every answer recorded. */
async function revoke(p: ChildProxy, id: string, out: Revoke[], errors: string[]): Promise<Revoke> {
  const r: Revoke = { id, statuses: [], codes: [], alreadyRevoked: [] };
  out.push(r);
  for (let attempt = 0; attempt < 200; attempt++) {
    const d = await adminCall(p.adminUrl, 'DELETE', `/v1/vault-keys/${r.id}`).catch(() => ({
      status: 0,
      body: null as any,
    }));
    r.statuses.push(d.status);
    r.codes.push(d.body?.error?.code ?? '');
    if (d.status === 200) {
      r.alreadyRevoked.push(d.body.already_revoked);
      break;
    }
    if (d.status !== 503 && d.status !== 0) errors.push(`delete ${d.status} ${JSON.stringify(d.body)}`);
    await sleep(50);
  }
  return r;
}

describe.skipIf(!pgAvailable())('PostgreSQL restarted under admin writes', () => {
  let world: ChildWorld;
  beforeAll(async () => {
    world = await childWorld();
  });
  afterAll(async () => world?.stop());

  it('every instance issues and revokes back to back through restarts: no instance exits, no acknowledged revoke is lost', async () => {
    // Given three instances, each issuing and revoking keys as fast as it answers
    const { cluster, sandbox } = world;
    const url = await freshDatabase(cluster.url);
    const children = await Promise.all([0, 1, 2].map(() => world.spawn(url)));
    const exits: string[] = [];
    children.forEach(
      (c, i) => void c.exited.then((code) => exits.push(`instance ${i} exited ${code}: ${c.stderr().slice(-400)}`)),
    );
    let done = false;
    const revokes: Revoke[] = [];
    const errors: string[] = [];
    const workers = children.flatMap((c) => [0, 1, 2, 3].map(() => churn(c, () => done, revokes, errors)));
    // and an agent on each instance, every call counted where it lands at the vendor
    const agentKey = (await adminCall(children[0]!.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    const atVendor = vendorCount(sandbox, 'fo');
    const loads = children.map((c, i) =>
      agents(
        () => c.dataUrl,
        () => [agentKey.secret],
        `fo${i}`,
        { concurrency: 2, pauseMs: 10 },
      ),
    );

    // When PostgreSQL is restarted six times mid-churn (fast stops and immediate ones: crashes); the
    // last outage outlasts the store's 3 s retry, so some revokes are answered 503 and completed later
    const outages = [
      ['fast', 300],
      ['immediate', 300],
      ['fast', 300],
      ['fast', 300],
      ['immediate', 300],
      ['fast', 4500],
    ] as const;
    let through: Promise<Revoke> | null = null;
    for (const [mode, ms] of outages) {
      const before = revokes.length;
      for (let i = 0; revokes.length < before + 6 && i < 400; i++) await sleep(25);
      // (the long outage: a key issued before it and revoked as it begins, whatever the churn is doing then)
      const issued =
        ms > 3_000 ? await adminCall(children[1]!.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' }) : null;
      if (issued) expect(issued.status).toBe(201);
      cluster.stop(mode);
      if (issued) through = revoke(children[1]!, issued.body.id, revokes, errors);
      await sleep(ms);
      cluster.start();
    }
    const before = revokes.length;
    for (let i = 0; revokes.length < before + 6 && i < 400; i++) await sleep(25);
    done = true;
    await Promise.all(workers);
    const late = await through!;
    await Promise.all(loads.map((l) => l.stop()));
    atVendor.stop();

    // Then no instance exited, and every instance still answers
    expect(exits).toEqual([]);
    for (const c of children) expect((await adminCall(c.adminUrl, 'GET', '/v1/health')).status).toBe(200);
    expect(errors).toEqual([]);
    // And every revoke answered 200 is revoked in the store; none said already_revoked while the store said active
    const acked = revokes.filter((r) => r.statuses.at(-1) === 200);
    expect(acked.length).toBeGreaterThan(10);
    const rows = await sql<{ id: string; status: string }>(
      url,
      'SELECT id, status FROM vault_keys WHERE id = ANY($1)',
      [acked.map((r) => r.id)],
    );
    const status = new Map(rows.map((r) => [r.id, r.status]));
    expect(acked.filter((r) => status.get(r.id) !== 'revoked').map((r) => `${r.id} ${r.statuses.join(',')}`)).toEqual(
      [],
    );
    // (a key whose revoke was not durable at first, completed by a repeated DELETE: the one revoked as the long
    // outage began, answered 503 once the store's retry ran out)
    expect(late.statuses.filter((x) => x !== 0)[0], JSON.stringify(late.statuses)).toBe(503);
    expect(late.statuses.at(-1)).toBe(200);
    // And no agent call reached the vendor without its audit row
    await new Promise((r) => setTimeout(r, 500)); // outcomes are written after the answer
    const paths = (await sql<{ path: string }>(url, 'SELECT path FROM agent_call_audit')).map((r) => r.path);
    expect(missingRows(atVendor.seen, paths)).toEqual([]);
    expect(atVendor.seen.size).toBeGreaterThan(20);
  }, 120_000);
});
