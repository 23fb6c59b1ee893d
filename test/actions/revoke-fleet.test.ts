import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { ADMIN_TOKEN, agentCall, freshDatabase, issueKey, startInstance } from '../fleet/fleet.js';
import { pollUntil } from '../helpers/poll.js';

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
    const [a, b, c] = await Promise.all([
      startInstance(url, sandbox),
      startInstance(url, sandbox),
      startInstance(url, sandbox),
    ]);
    running.push(a, b, c);
    const key = await issueKey(a, { agent_run_id: 'run_cli' });
    for (const p of [a, b, c])
      await pollUntil(
        `the new key served by ${p.instanceId}`,
        async () => (await agentCall(p.dataUrl, key.secret)).status === 200,
      );
    await pollUntil(
      'every instance in the registry',
      async () =>
        (
          await (
            await fetch(`${a.adminUrl}/v1/instances`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
          ).json()
        ).data.length === 3,
    );

    // The other instances listen on other ports of this host: trusted only because the operator says so.
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: a.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
      TOURNIQUET_TRUSTED_INSTANCES: 'http://127.0.0.1:*',
    });
    const r = await runInProcess(['revoke', key.id, '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const instances = out.results[0].instances;
    expect(instances.map((i: any) => i.instance_id).sort()).toEqual([a.instanceId, b.instanceId, c.instanceId].sort());
    expect(instances.every((i: any) => i.refused && i.code === 'vault_key_revoked')).toBe(true);
    for (const p of [a, b, c]) expect((await agentCall(p.dataUrl, key.secret)).status).toBe(401);

    // Without the operator's word, the instances on other ports are not trusted with the token: not verified (5).
    const key2 = await issueKey(a, { agent_run_id: 'run_cli_2' });
    const untrusted = await runInProcess(['revoke', key2.id, '--yes', '--json'], {
      env: { ...env, TOURNIQUET_TRUSTED_INSTANCES: undefined },
    });
    expect(untrusted.code, untrusted.stderr).toBe(5);
    const probed = JSON.parse(untrusted.stdout).results[0].instances;
    expect(
      probed
        .filter((i: any) => i.code.startsWith('untrusted_instance'))
        .map((i: any) => i.instance_id)
        .sort(),
    ).toEqual([b.instanceId, c.instanceId].sort());
    expect(probed.find((i: any) => i.instance_id === a.instanceId)).toMatchObject({ refused: true });
  }, 30000);
});
