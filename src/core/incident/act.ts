import type { HttpClient } from '../http.js';
import type { Journal } from '../journal.js';
import type { Plan } from '../decide.js';
import { execute, stepEnv, type Execution, type Session } from '../actions/session.js';
import { revokeResult, revokeSteps, type RevokeResult } from '../actions/revoke.js';
import type { StepReport } from '../steps/types.js';
import { ProxySource } from '../damage/sources/proxy.js';
import { computeDamage } from '../damage/damage.js';
import type { DamageSummary } from '../damage/types.js';

/**
 * The acting half of the guided incident: revoke the chosen vault key (issue 5's steps:
 * journaled, verified on every instance), then the damage summary from the proxy's audit,
 * then the next moves. No prompts here: the command has already asked.
 */
export interface ActInput {
  session: Session;
  journal: Journal;
  plan: Plan;
  vaultKeyId: string;
  hard: boolean;
  verifyTimeoutMs: number;
  onStep?: (r: StepReport) => void;
  /** Called right before the revoke call leaves (the demo measures from here). */
  beforeRevoke?: () => void;
}

export interface ActOutcome {
  execution: Execution;
  revoke: RevokeResult;
  /** performance.now() when the revoke call returned (the key is refused from here on). */
  revokedAtPerf: number | null;
  effective_at: string | null;
}

export function recordDecision(
  journal: Journal,
  plan: Plan,
  vaultKeyId: string,
  extra: Record<string, unknown> = {},
): void {
  journal.append('decided', {
    scenario: plan.scenario,
    action: plan.action,
    reason: plan.reason,
    vault_key_id: vaultKeyId,
    leak_estimate: plan.leak_estimate,
    ...extra,
  });
}

export async function revokeChosen(input: ActInput): Promise<ActOutcome> {
  const proxy = await input.session.proxy();
  const steps = revokeSteps(
    { ids: [input.vaultKeyId], hard: input.hard, verifyTimeoutMs: input.verifyTimeoutMs },
    { proxy },
  );
  let revokedAtPerf: number | null = null;
  const step = steps[0]!;
  const run = step.run.bind(step);
  step.run = async (env) => {
    if (!env.dryRun) input.beforeRevoke?.();
    const r = await run(env);
    revokedAtPerf = performance.now();
    return r;
  };
  const execution = await execute({
    session: input.session,
    journal: input.journal,
    steps,
    env: stepEnv(input.session, input.journal),
    onStep: input.onStep,
  });
  const revoke = revokeResult(execution.incident_id, execution.report);
  return { execution, revoke, revokedAtPerf, effective_at: revoke.results[0]?.effective_at ?? null };
}

export async function damageAfter(
  admin: HttpClient,
  vaultKeyId: string,
  fromMs: number,
  revokedAt: string | null,
): Promise<DamageSummary> {
  return computeDamage(new ProxySource(admin), {
    vault_key_id: vaultKeyId,
    from: fromMs,
    to: Date.now() + 1000,
    revoked_at: revokedAt ? Date.parse(revokedAt) : undefined,
  });
}

/** What to do once the key is dead (seed 002, t+90s): the runner, the process, the production key, the write-up. */
export function nextMoves(input: {
  incidentId: string;
  vaultKeyId: string;
  agentRunId: string | null;
  vendor: string;
  refusedSinceRevoke: number;
}): string[] {
  const run = input.agentRunId ? `run ${input.agentRunId}` : `the agent holding ${input.vaultKeyId}`;
  return [
    `Tell the agent's runner (Temporal, Airflow, cron...) that ${run} has a dead credential; most runners notice a non-zero exit, check that yours does.`,
    input.refusedSinceRevoke > 0
      ? `The agent is still retrying (${input.refusedSinceRevoke} refused call${input.refusedSinceRevoke === 1 ? '' : 's'} since the revoke): kill its process.`
      : 'If the agent keeps retrying inside its own loop, kill its process.',
    `Leave the ${input.vendor} production key alone; rotate it later (tourniquet rotate ${input.vendor}) only if the key itself left the building.`,
    `Write it up from the audit rows: tourniquet postmortem ${input.incidentId}`,
  ];
}
