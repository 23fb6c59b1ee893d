import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { ADMIN_TOKEN, freshDatabase, startInstance } from './fleet.js';
import { sample, scrape } from '../proxy/metrics-scrape.js';

describe.skipIf(!pgAvailable())('/metrics on a fleet', () => {
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

  it('revision lag and last sync for every live instance; store_up falls to 0 when PostgreSQL stops, and the scrape still answers', async () => {
    const url = await freshDatabase(cluster.url, 'metrics');
    const a = await startInstance(url, sandbox);
    const b = await startInstance(url, sandbox);
    running.push(a, b);
    // (poll until B's heartbeat is in the registry)
    let families = (await scrape(a.adminUrl, ADMIN_TOKEN)).families;
    for (
      let t0 = Date.now();
      sample(families, 'tourniquet_instance_revision_lag', { instance_id: b.instanceId }) !== 0;
    ) {
      if (Date.now() - t0 > 10_000) throw new Error("B never showed up in A's metrics");
      families = (await scrape(a.adminUrl, ADMIN_TOKEN)).families;
    }
    expect(sample(families, 'tourniquet_store_up')).toBe(1);
    for (const p of [a, b]) {
      expect(sample(families, 'tourniquet_instance_revision_lag', { instance_id: p.instanceId })).toBe(0);
      const at = sample(families, 'tourniquet_instance_last_sync_timestamp_seconds', { instance_id: p.instanceId })!;
      expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(10);
    }

    cluster.stop('immediate');
    try {
      const down = await scrape(a.adminUrl, ADMIN_TOKEN);
      expect(down.status).toBe(200);
      expect(sample(down.families, 'tourniquet_store_up')).toBe(0);
      // this instance's own last sync is still reported (from memory)
      expect(
        sample(down.families, 'tourniquet_instance_last_sync_timestamp_seconds', { instance_id: a.instanceId }),
      ).toBeGreaterThan(0);
    } finally {
      cluster.start();
    }
  });
});
