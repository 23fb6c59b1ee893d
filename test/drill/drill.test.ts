import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { startStage, type DemoStage } from '../../src/core/demo/stage.js';
import { measureInstance } from '../../src/core/drill.js';

let stage: DemoStage;
let env: Record<string, string | undefined>;
beforeEach(async () => {
  stage = await startStage({ timeScale: 0.001, tailMode: 'median' });
  env = { ...isolatedEnv(), ...stage.env };
});
afterEach(async () => {
  await stage.stop();
});

const vendorCalls = () => stage.sandbox.stripe.keys.stats().reduce((n, k) => n + k.calls, 0);

describe("drill against the profile's proxy", () => {
  it('measures time to refusal per instance and calls leaked; within thresholds is exit 0; no call reaches the vendor', async () => {
    const before = vendorCalls();
    // (how fast it refuses is measured by `npm run bench -- drill`; the threshold here is generous)
    const r = await runInProcess(
      ['drill', '--json', '--warmup', '300ms', '--observe', '300ms', '--max-refusal-ms', '10000'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.passed).toBe(true);
    expect(j.instances).toHaveLength(1);
    expect(j.instances[0].instance_id).toBe(stage.proxy.instanceId);
    // (how many calls a loaded machine manages in 600 ms is not the point: the bench has the rate)
    expect(j.instances[0].calls).toBeGreaterThan(0);
    expect(j.instances[0].time_to_refusal_ms).toBeGreaterThanOrEqual(0);
    expect(j.leaked_calls).toBe(0);
    expect((await stage.admin.getVaultKey(j.vault_key_id))?.status).toBe('revoked');
    expect(vendorCalls()).toBe(before);
  });

  it('an instance that never refuses the key is over the threshold: exit 7, named', async () => {
    await stage.proxy.service.store.heartbeat({
      instance_id: 'inst_dead',
      data_plane_url: 'http://127.0.0.1:9',
      admin_url: 'http://127.0.0.1:9',
      started_at: new Date().toISOString(),
      last_sync_at: new Date().toISOString(),
    });
    const r = await runInProcess(['drill', '--warmup', '200ms', '--observe', '200ms'], { env });
    expect(r.code).toBe(7);
    expect(r.stdout).toMatch(/over: inst_dead never refused the revoked key/);
  });

  it('a tighter --max-refusal-ms than the proxy can meet is exit 7', async () => {
    const r = await runInProcess(
      ['drill', '--json', '--warmup', '200ms', '--observe', '200ms', '--max-refusal-ms', '0'],
      { env },
    );
    expect(r.code).toBe(7);
    expect(JSON.parse(r.stdout).problems[0]).toMatch(/took .* ms to refuse it \(threshold 0 ms\)/);
  });
});

describe('drill --sandbox', () => {
  it('needs no configuration', async () => {
    const r = await runInProcess(['drill', '--sandbox', '--json', '--warmup', '200ms', '--observe', '200ms'], {
      env: isolatedEnv(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).passed).toBe(true);
  });
});

describe('measuring one instance', () => {
  it('splits calls after the revoke into leaked (started after) and in flight (started before)', () => {
    const inst = { instance_id: 'i', data_plane_url: 'u' };
    const m = measureInstance(
      inst,
      [
        { started: 0, ended: 5, code: 'endpoint_not_allowed' },
        { started: 8, ended: 12, code: 'endpoint_not_allowed' }, // in flight at 10
        { started: 11, ended: 13, code: 'endpoint_not_allowed' }, // leaked
        { started: 14, ended: 16, code: 'vault_key_revoked' },
      ],
      10,
    );
    expect(m).toMatchObject({ calls: 4, in_flight: 1, leaked_calls: 1, time_to_refusal_ms: 6 });
  });
});
