import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInProcess } from '../helpers/cli.js';
import { startFixture, type Fixture } from './fixture.js';

let f: Fixture;
beforeEach(async () => {
  f = await startFixture();
});
afterEach(async () => {
  await f.stop();
});

function journal(env: Record<string, string | undefined>): Array<Record<string, unknown>> {
  const dir = join(env.TOURNIQUET_STATE_DIR!, 'incidents');
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((n) => n.endsWith('.jsonl'));
  expect(files).toHaveLength(1);
  return readFileSync(join(dir, files[0]!), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('tourniquet incident from a script (every question has a flag)', () => {
  it('--scenario --vault-key --yes --json: revoked, verified on every instance, damage and next moves; journaled', async () => {
    const r = await runInProcess(
      ['incident', '--scenario', 'runaway-loop', '--vault-key', f.stage.agentKey.id, '--yes', '--json'],
      { env: f.env },
    );
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.status).toBe('done');
    expect(j.vault_key_id).toBe(f.stage.agentKey.id);
    expect(j.revoke.verified).toBe(true);
    expect(j.revoke.results[0].instances.every((i: { refused: boolean }) => i.refused)).toBe(true);
    expect(j.plan.action).toBe('revoke');
    expect(j.plan.leak_estimate.rotate.p95_calls).toBeGreaterThan(1);
    expect(j.damage.calls_allowed).toBeGreaterThan(0);
    expect(j.damage.after_revoke.later_allowed).toBe(0);
    expect(j.next).toHaveLength(4);
    expect(j.next[3]).toBe(`Write it up from the audit rows: tourniquet postmortem ${j.incident_id}`);
    // The agent is refused on its next call.
    const refusal = await f.agent.firstRefusalAfter(0, 2000);
    expect(refusal?.code).toBe('vault_key_revoked');
    const types = journal(f.env).map((e) => e.type);
    expect(types[0]).toBe('started');
    expect(types).toContain('decided');
    expect(types).toContain('revoked');
    expect(types.at(-1)).toBe('finished');
    // The incident is kept for the write-up.
    const pm = await runInProcess(['postmortem', j.incident_id, '--source', 'proxy'], { env: f.env });
    expect(pm.code, pm.stderr).toBe(0);
    expect(pm.stdout).toMatch(/\*\*Scenario:\*\* runaway-loop/);
    expect(pm.stdout).toMatch(/revoked vk_id_\w+/);
    // No secret anywhere in what it printed.
    expect(r.stdout + r.stderr).not.toContain(f.stage.agentKey.secret);
    expect(r.stdout + r.stderr).not.toContain(f.stage.adminToken);
  });

  it('text output: the leak comparison, the live step with its t+ offset, damage and next moves', async () => {
    const r = await runInProcess(['incident', '-s', 'runaway-loop', '--vault-key', f.stage.agentKey.id, '--yes'], {
      env: f.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/profile default · proxy http:\/\/127\.0\.0\.1:\d+ \(tourniquet\)/);
    expect(r.stderr).toMatch(/1 of 1 instance healthy/);
    expect(r.stderr).toMatch(
      /rotating the production key would let about \d+ more calls through .*revoking lets through at most the one in flight/s,
    );
    expect(r.stderr).toMatch(/✔ revoke vault key vk_id_\w+ \[t\+\d+(ms|\.\ds)\]/);
    expect(r.stderr).toMatch(/incident: done and verified/);
    expect(r.stdout).toMatch(/Damage: vault key/);
    expect(r.stdout).toMatch(/Next\n\s+1\. Tell the agent's runner/);
  });

  it('no terminal and no --vault-key: exit 2 naming the flag, nothing revoked', async () => {
    const r = await runInProcess(['incident', '--scenario', 'runaway-loop', '--yes'], { env: f.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--vault-key/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('active');
  });

  it('no terminal and no --scenario: exit 2 naming --scenario', async () => {
    const r = await runInProcess(['incident', '--vault-key', f.stage.agentKey.id, '--yes'], { env: f.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--scenario/);
  });

  it('no terminal and no --yes: exit 2 naming --yes, nothing revoked', async () => {
    const r = await runInProcess(['incident', '--scenario', 'runaway-loop', '--vault-key', f.stage.agentKey.id], {
      env: f.env,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--yes/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('active');
  });

  it('an unknown vault key is exit 4; an unknown scenario is exit 2', async () => {
    expect(
      (await runInProcess(['incident', '-s', 'runaway-loop', '--vault-key', 'vk_id_nope', '--yes'], { env: f.env }))
        .code,
    ).toBe(4);
    expect(
      (
        await runInProcess(['incident', '-s', 'no-such-thing', '--vault-key', f.stage.agentKey.id, '--yes'], {
          env: f.env,
        })
      ).code,
    ).toBe(2);
  });

  it('--dry-run prints the calls it would make and makes none', async () => {
    const r = await runInProcess(['incident', '-s', 'runaway-loop', '--vault-key', f.stage.agentKey.id, '--dry-run'], {
      env: f.env,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/dry run/);
    expect(r.stderr).toMatch(/DELETE http:\/\/127\.0\.0\.1:\d+\/v1\/vault-keys\/vk_id_\w+/);
    expect((await f.stage.admin.getVaultKey(f.stage.agentKey.id))?.status).toBe('active');
  });

  it('a scenario whose first move is not a vault-key revoke hands off to `tourniquet run`', async () => {
    const r = await runInProcess(['incident', '-s', 'production-key-exposed', '--json'], { env: f.env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).next).toEqual(['tourniquet run --scenario production-key-exposed']);
  });
});
