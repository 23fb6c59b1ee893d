import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { ADMIN_TOKEN, freshDatabase, issueKey, sleep, startInstance } from './fleet.js';

describe.skipIf(!pgAvailable())('the CLI against a fleet', () => {
  let cluster: PgCluster;
  let sandbox: Sandbox;
  let fleet: RunningProxy[] = [];
  beforeAll(async () => {
    cluster = await startPg();
    sandbox = await startSandbox({ timeScale: 0.001 });
    const url = await freshDatabase(cluster.url);
    fleet = await Promise.all([0, 1, 2].map(() => startInstance(url, sandbox)));
    await sleep(1_200); // every instance has heartbeated into the registry
  });
  afterAll(async () => {
    await Promise.all(fleet.map((p) => p.stop()));
    await sandbox?.stop();
    cluster?.destroy();
  });

  it('measures the refusal on every instance of the fleet, within the stated bound', async () => {
    // Given the admin API of one instance, when the drill runs through the fleet's registry
    const env = { ...isolatedEnv(), TOURNIQUET_PROXY_URL: fleet[0]!.adminUrl, TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN };
    // (the 250 ms bound is measured by `npm run bench -- drill`; here, generous thresholds)
    const r = await runInProcess(
      ['drill', '--json', '--warmup', '300ms', '--observe', '400ms', '--max-refusal-ms', '5000', '--max-leaked', '50'],
      { env },
    );
    // Then all three instances refused the revoked key
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.instances.map((i: any) => i.instance_id).sort()).toEqual(fleet.map((p) => p.instanceId).sort());
    for (const i of j.instances) {
      expect(i.calls).toBeGreaterThan(0); // the rate a loaded machine manages is the bench's business
      expect(i.time_to_refusal_ms).not.toBeNull();
    }
  });

  it('tourniquet revoke verifies the refusal on every instance, not only the one that answered', async () => {
    // The other instances' admin APIs are on other ports of this host: trusted because the operator lists them.
    const env = {
      ...isolatedEnv(),
      TOURNIQUET_PROXY_URL: fleet[1]!.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_TRUSTED_INSTANCES: 'http://127.0.0.1:*',
    };
    const key = await issueKey(fleet[2]!, { agent_run_id: 'run_cli' });
    const r = await runInProcess(['revoke', key.id, '--yes', '--json'], { env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.verified).toBe(true);
    const probed = j.results[0].instances;
    expect(probed.map((i: any) => i.instance_id).sort()).toEqual(fleet.map((p) => p.instanceId).sort());
    expect(probed.every((i: any) => i.refused && i.code === 'vault_key_revoked')).toBe(true);
    for (const p of fleet) expect(p.service.state.vaultKey(key.id)?.status).toBe('revoked');
  });
});
