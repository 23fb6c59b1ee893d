import type { ProxyAdapter, RevokeOutcome } from '../../adapters/proxy/types.js';
import { waitForRefusal, type InstanceRefusal } from '../probe.js';
import type { RunReport, Step, StepEnv, StepRun, Verification } from '../steps/types.js';

/** Revoke vault keys at the proxy, then prove every instance refuses them. */
export interface RevokeParams {
  ids: string[];
  hard: boolean;
  allUnder?: string;
  vendor?: string;
  reason?: string;
  verifyTimeoutMs: number;
}

export interface RevokeDeps {
  proxy: ProxyAdapter;
}

function runOutputs(key: string, outcomes: RevokeOutcome[]): Record<string, unknown> {
  return { [`${key}.outcomes`]: outcomes };
}

function record(env: StepEnv, outcomes: RevokeOutcome[]): void {
  const done = outcomes.filter((o): o is Extract<RevokeOutcome, { effective_at: string }> => o.status !== 'not-found');
  // `by`: the admin token's name the proxy reports (who revoked, for timeline and postmortem).
  const by = done.find((o) => o.by)?.by;
  if (done.length)
    env.record('revoked', {
      vault_key_ids: done.map((o) => o.vault_key_id),
      effective_at: done.map((o) => o.effective_at).sort()[0],
      statuses: Object.fromEntries(done.map((o) => [o.vault_key_id, o.status])),
      ...(by ? { by } : {}),
    });
}

function describeOutcomes(outcomes: RevokeOutcome[]): string {
  if (!outcomes.length) return 'no active vault keys matched';
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.status, (counts.get(o.status) ?? 0) + 1);
  return [...counts]
    .map(([s, n]) => (outcomes.length === 1 ? `${outcomes[0]!.vault_key_id}: ${s}` : `${n} ${s}`))
    .join(', ');
}

/** The verification shared by both revoke steps: probe every instance for every revoked key. */
function verifyRefusal(deps: RevokeDeps, key: string, p: RevokeParams) {
  const starts = new Map<string, number>();
  return {
    mark(k: string) {
      starts.set(k, performance.now());
    },
    async verify(env: StepEnv, run: StepRun): Promise<Verification> {
      const outcomes = ((run.outputs?.[`${key}.outcomes`] as RevokeOutcome[]) ?? []).filter(
        (o) => o.status !== 'not-found',
      );
      const instances = await deps.proxy.instances();
      const since = starts.get(key) ?? performance.now();
      const results: Record<string, InstanceRefusal[]> = {};
      for (const o of outcomes)
        results[o.vault_key_id] = await waitForRefusal(deps.proxy, o.vault_key_id, instances, {
          since,
          timeoutMs: p.verifyTimeoutMs,
          signal: env.signal,
        });
      const unproven = Object.entries(results).flatMap(([id, rs]) =>
        rs.filter((r) => !r.refused).map((r) => `${id} on ${r.instance_id} (${r.code})`),
      );
      const slowest = Math.max(
        0,
        ...Object.values(results)
          .flat()
          .map((r) => r.ms),
      );
      return {
        ok: unproven.length === 0 && instances.length > 0,
        detail: unproven.length
          ? `not proven refused within ${p.verifyTimeoutMs} ms: ${unproven.join(', ')}`
          : `refused by ${instances.length} instance(s) within ${slowest} ms`,
        data: { instances: results },
      };
    },
  };
}

export function revokeSteps(p: RevokeParams, deps: RevokeDeps): Step[] {
  const steps: Step[] = [];
  for (const id of p.ids) {
    const key = `revoke:${id}`;
    const v = verifyRefusal(deps, key, p);
    steps.push({
      key,
      title: `revoke vault key ${id}${p.hard ? ' (hard: cut requests in flight)' : ''}`,
      kind: 'revoke-vault-key',
      target: id,
      calls: () => [deps.proxy.describe('revoke', { id, hard: String(p.hard) }), deps.proxy.describe('probe', { id })],
      async run(env) {
        const outcome = await deps.proxy.revokeVaultKey(id, { hard: p.hard, reason: p.reason });
        v.mark(key);
        record(env, [outcome]);
        return {
          status:
            outcome.status === 'revoked' ? 'done' : outcome.status === 'already-revoked' ? 'already-done' : 'not-found',
          detail: describeOutcomes([outcome]),
          outputs: runOutputs(key, [outcome]),
        };
      },
      verify: (env, run) => v.verify(env, run),
      verificationIsSecurity: true,
    });
  }
  if (p.allUnder || p.vendor) {
    const filter = p.allUnder ? { upstream_key_id: p.allUnder } : { vendor: p.vendor };
    const target = p.allUnder ?? p.vendor!;
    const key = `revoke-all:${target}`;
    const v = verifyRefusal(deps, key, p);
    steps.push({
      key,
      title: `revoke every active vault key under ${p.allUnder ? `production key ${p.allUnder}` : `vendor ${p.vendor}`}`,
      kind: 'revoke-all-under',
      target,
      calls: () => [
        deps.proxy.describe('revoke-all', filter),
        deps.proxy.describe('probe', { id: '{each revoked id}' }),
      ],
      async run(env) {
        const outcomes = deps.proxy.capabilities.revokeAllUnder
          ? await deps.proxy.revokeAllUnder(filter, { hard: p.hard, reason: p.reason })
          : await revokeEach(deps.proxy, filter, p);
        v.mark(key);
        record(env, outcomes);
        return {
          status: outcomes.some((o) => o.status === 'revoked') ? 'done' : 'already-done',
          detail: describeOutcomes(outcomes),
          outputs: runOutputs(key, outcomes),
        };
      },
      verify: (env, run) => v.verify(env, run),
      verificationIsSecurity: true,
    });
  }
  return steps;
}

async function revokeEach(
  proxy: ProxyAdapter,
  filter: { upstream_key_id?: string; vendor?: string },
  p: RevokeParams,
): Promise<RevokeOutcome[]> {
  const keys = await proxy.listVaultKeys({ ...filter, status: 'active' });
  const out: RevokeOutcome[] = [];
  for (const k of keys) out.push(await proxy.revokeVaultKey(k.id, { hard: p.hard, reason: p.reason }));
  return out;
}

/** The documented `--json` shape of `revoke`. */
export interface RevokeResult {
  incident_id: string;
  /** True only when every key named was revoked and every instance explicitly refused it. */
  verified: boolean;
  status: RunReport['status'];
  results: Array<{
    vault_key_id: string;
    status: string;
    verified: boolean;
    effective_at?: string;
    instances: Array<{ instance_id: string; refused: boolean; ms: number; code?: string }>;
  }>;
}

export function revokeResult(incidentId: string, report: RunReport): RevokeResult {
  const results: RevokeResult['results'] = [];
  for (const s of report.steps) {
    const outcomes = (report.state[`${s.key}.outcomes`] as RevokeOutcome[] | undefined) ?? [];
    const instances = (s.verification?.data?.instances as Record<string, InstanceRefusal[]> | undefined) ?? {};
    for (const o of outcomes) {
      const asked = (instances[o.vault_key_id] ?? []).map((r) => ({
        instance_id: r.instance_id,
        refused: r.refused,
        ms: r.ms,
        code: r.code,
      }));
      // A key that does not exist was not revoked by us: nothing about it is verified.
      const verified =
        s.verification?.ok === true &&
        o.status !== 'not-found' &&
        asked.length > 0 &&
        asked.every((i) => i.refused === true);
      results.push({
        vault_key_id: o.vault_key_id,
        status: o.status,
        verified,
        effective_at: 'effective_at' in o ? o.effective_at : undefined,
        instances: asked,
      });
    }
  }
  const verified = report.status === 'done' && results.every((r) => r.verified);
  return { incident_id: incidentId, verified, status: report.status, results };
}
