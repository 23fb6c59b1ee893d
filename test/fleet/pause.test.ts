import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProxy } from '../proxy/child.js';
import { pgAvailable } from '../helpers/pg.js';
import { adminCall, freshDatabase, sleep } from './fleet.js';
import { childWorld, type ChildWorld } from './children.js';
import { agentCall, forwarded, openLoop, until, vendorCount } from '../proxy/faults.js';

describe.skipIf(!pgAvailable())(
  '"the next request", fleet-wide: revokes against paused instances and racing requests',
  () => {
    let world: ChildWorld;
    let fleet: ChildProxy[] = [];
    beforeAll(async () => {
      world = await childWorld();
      const url = await freshDatabase(world.cluster.url);
      // Three `tourniquet proxy serve` processes: one of them will be paused with SIGSTOP.
      fleet = await Promise.all([0, 1, 2].map(() => world.spawn(url)));
      await until(
        'every instance registered',
        async () => (await adminCall(fleet[0]!.adminUrl, 'GET', '/v1/instances')).body.data.length === 3,
      );
    });
    afterAll(async () => world?.stop());

    async function usableEverywhere(secret: string): Promise<void> {
      for (const p of fleet)
        await until('key usable', async () => forwarded(await agentCall(p.dataUrl, secret, '/v1/customers/cus_warm')));
    }

    it('SIGSTOP of one instance for 100–1,000 ms around a revoke: what it had not decided before the pause is refused after it', async () => {
      const [a, , c] = fleet as [ChildProxy, ChildProxy, ChildProxy];
      const report: Array<{
        pauseMs: number;
        unconfirmed: string[];
        queued: number;
        leaked: number;
        inFlightAtStop: number;
        leakedInFlight: number;
      }> = [];
      for (const pauseMs of [100, 400, 1_000]) {
        // Given a call to C every 10 ms with a key that works everywhere, each counted where it lands at the vendor
        const key = (await adminCall(a.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
        await usableEverywhere(key.secret);
        const atVendor = vendorCount(world.sandbox, `ps${pauseMs}_`);
        const load = openLoop(() => c.dataUrl, key.secret, `ps${pauseMs}`);
        await until('C serving', () => load.outcomes.filter(forwarded).length > 10);

        // When C is frozen, the key is revoked through A while it is, and C is thawed
        c.child.kill('SIGSTOP');
        const stoppedAt = performance.now();
        await sleep(Math.min(50, pauseMs / 2));
        const del = await adminCall(a.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}`);
        const returnedAt = performance.now();
        await sleep(Math.max(0, pauseMs - (performance.now() - stoppedAt)));
        c.child.kill('SIGCONT');
        const thawedAt = performance.now();
        await until('C answering again', () => load.outcomes.filter((o) => o.sentAt > thawedAt).length > 20);
        await load.stop();
        atVendor.stop();

        // Then the revoke is durable and names C when C could not confirm within the wait; every call
        // sent while C was frozen (undecided there until it thawed, after the revoke) was refused:
        // none reached the vendor. Calls C had already taken in hand before the pause may finish (in flight).
        expect(del.status, JSON.stringify(del.body)).toBe(200);
        const sent = new Map(load.outcomes.map((o) => [o.path, o]));
        const late = [...atVendor.arrivals.entries()].filter(([, t]) => t > returnedAt).map(([p]) => sent.get(p)!);
        const inFlightAtStop = load.outcomes.filter((o) => o.sentAt < stoppedAt && o.at > stoppedAt).length;
        report.push({
          pauseMs,
          unconfirmed: del.body.fleet.unconfirmed,
          queued: load.outcomes.filter((o) => o.sentAt > stoppedAt && o.sentAt < thawedAt).length,
          leaked: late.filter((o) => o.sentAt > stoppedAt).length,
          inFlightAtStop,
          leakedInFlight: late.filter((o) => o.sentAt <= stoppedAt).length,
        });
        if (del.body.fleet.unconfirmed.length) expect(del.body.fleet.unconfirmed).toEqual([c.instanceId]);
      }
      expect(
        report.map((r) => r.leaked),
        JSON.stringify(report),
      ).toEqual([0, 0, 0]);
      expect(
        report.every((r) => r.queued > 5 && r.leakedInFlight <= r.inFlightAtStop),
        JSON.stringify(report),
      ).toBe(true);
      // (a pause well past the 250 ms wait leaves C unconfirmed: the answer says so)
      expect(report.find((r) => r.pauseMs === 1_000)!.unconfirmed).toEqual([c.instanceId]);
    }, 60_000);

    it('requests sent to every instance the moment a DELETE returns: none is served, every instance confirmed', async () => {
      let served = 0;
      const unconfirmed: string[] = [];
      for (let i = 0; i < 24; i++) {
        const via = fleet[i % 3]!;
        const key = (await adminCall(fleet[(i + 1) % 3]!.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' }))
          .body;
        await usableEverywhere(key.secret);
        const del = await adminCall(via.adminUrl, 'DELETE', `/v1/vault-keys/${key.id}`);
        const rs = await Promise.all(fleet.map((p) => agentCall(p.dataUrl, key.secret, `/v1/customers/cus_next_${i}`)));
        served += rs.filter((r) => r.code !== 'vault_key_revoked').length;
        unconfirmed.push(...del.body.fleet.unconfirmed);
      }
      expect({ served, unconfirmed }).toEqual({ served: 0, unconfirmed: [] });
    }, 60_000);
  },
);
