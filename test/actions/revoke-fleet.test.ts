import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { ADMIN_TOKEN, agentCall, freshDatabase, issueKey, sleep, startInstance } from '../fleet/fleet.js';

describe.skipIf(!pgAvailable())('tourniquet revoke against a real fleet (three instances on PostgreSQL)', () => {
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

  it('revoked through one instance, verified on every instance from its own memory', async () => {
    const url = await freshDatabase(cluster.url, 'tqrevoke');
    const [a, b, c] = await Promise.all([startInstance(url, sandbox), startInstance(url, sandbox), startInstance(url, sandbox)]);
    running.push(a!, b!, c!);
    const key = await issueKey(a!, { agent_run_id: 'run_cli' });
    await sleep(100);
    for (const p of [a!, b!, c!]) expect((await agentCall(p.dataUrl, key.secret)).status).toBe(200);

    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: a!.adminUrl, TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN });
    const r = await runInProcess(['revoke', key.id, '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const instances = out.results[0].instances;
    expect(instances.map((i: any) => i.instance_id).sort()).toEqual([a!.instanceId, b!.instanceId, c!.instanceId].sort());
    expect(instances.every((i: any) => i.refused && i.code === 'vault_key_revoked')).toBe(true);
    for (const p of [a!, b!, c!]) expect((await agentCall(p.dataUrl, key.secret)).status).toBe(401);
  }, 30000);
});
