import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import type { RunningProxy } from '../../src/proxy/index.js';
import { startRefundAgent, stripeClient } from '../../src/demo/refund-agent.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { pgAvailable, startPg, type PgCluster } from '../helpers/pg.js';
import { ADMIN_TOKEN, freshDatabase, issueKey, startInstance } from '../fleet/fleet.js';
import { pollUntil } from '../helpers/poll.js';

/** The guided incident's flags-only path against a three-instance fleet on PostgreSQL. */
describe.skipIf(!pgAvailable())('tourniquet incident against a fleet', () => {
  let cluster: PgCluster;
  let sandbox: Sandbox;
  let fleet: RunningProxy[] = [];
  beforeAll(async () => {
    cluster = await startPg();
    sandbox = await startSandbox({ timeScale: 0.001 });
    const url = await freshDatabase(cluster.url, 'incident');
    fleet = await Promise.all([0, 1, 2].map(() => startInstance(url, sandbox)));
    await pollUntil(
      'every instance in the registry',
      async () =>
        (
          await (
            await fetch(`${fleet[0]!.adminUrl}/v1/instances`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
          ).json()
        ).data.length === 3,
    );
  });
  afterAll(async () => {
    await Promise.all(fleet.map((p) => p.stop()));
    await sandbox?.stop();
    cluster?.destroy();
  });

  it('shows every instance healthy, revokes, and verifies the refusal on all three', async () => {
    const charge = await stripeClient(sandbox.keys.stripe.secret, sandbox.urls.stripe).charges.create({
      amount: 5000,
      currency: 'usd',
      source: 'tok_visa',
    });
    const key = await issueKey(fleet[2]!, { agent_run_id: 'run_fleet', labels: { agent: 'refund-agent' } });
    // The agent calls through the third instance; the operator's profile points at the first.
    const agent = startRefundAgent({
      key: key.secret,
      baseUrl: fleet[2]!.dataUrl,
      intervalMs: 20,
      targets: [{ charge: charge.id, customer: 'cus_fleet' }],
    });
    try {
      await pollUntil('the agent to run away', () => agent.calls.length >= 10);
      // The other instances listen on other ports of this host: the operator lists them as trusted.
      const env = {
        ...isolatedEnv(),
        TOURNIQUET_PROXY_URL: fleet[0]!.adminUrl,
        TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
        TOURNIQUET_TRUSTED_INSTANCES: 'http://127.0.0.1:*',
      };
      const r = await runInProcess(['incident', '-s', 'runaway-loop', '--vault-key', key.id, '--yes', '--json'], {
        env,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/3 of 3 instances healthy/);
      const j = JSON.parse(r.stdout);
      expect(j.revoke.verified).toBe(true);
      const probed = j.revoke.results[0].instances;
      expect(probed.map((i: { instance_id: string }) => i.instance_id).sort()).toEqual(
        fleet.map((p) => p.instanceId).sort(),
      );
      expect(probed.every((i: { refused: boolean }) => i.refused)).toBe(true);
      const refusal = await agent.firstRefusalAfter(0, 2000);
      expect(refusal?.code).toBe('vault_key_revoked');
    } finally {
      await agent.stop();
    }
  });
});
