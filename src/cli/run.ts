import type { CommandInput } from './registry.js';
import { inertJson } from '../core/inert.js';
import type { Ctx } from './context.js';
import { catalogFor } from './settings.js';
import { planFor as decidePlan } from './decide.js';
import { execute, openSession, startIncident, stepEnv } from '../core/actions/session.js';
import { runPlanSteps, type RunParams } from '../core/actions/run-plan.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { closeRun, freshSecrets, liveStep, sessionInput, showFreshSecretsOnce } from '../render/steps-output.js';

/** `tourniquet run --scenario ID`: decide, then execute the plan step by step. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const catalog = await catalogFor(ctx);
  const plan = await decidePlan(ctx, catalog, opts);
  const params: RunParams = {
    scenario: plan.scenario,
    plan_steps: plan.steps,
    verifyTimeoutMs: Number(opts.verifyTimeout ?? 5000),
    rotate: {
      newKeyFile: opts.newKeyFile as string | undefined,
      oldKeyFile: opts.oldKeyFile as string | undefined,
      oldVendorKeyId: opts.oldKeyId as string | undefined,
      newKeyOut: opts.newKeyOut as string | undefined,
      watchOldKey: Boolean(opts.oldKeyFile),
      tailTimeoutMs: Number(opts.tailTimeout ?? 300) * 1000,
      tailIntervalMs: 200,
    },
  };
  const wrap =
    opts.cap !== undefined ||
    opts.endpoint !== undefined ||
    opts.expiresIn !== undefined ||
    opts.perCallCap !== undefined ||
    opts.callsPerMinute !== undefined;
  if (wrap)
    params.issue = {
      cap: opts.cap as string | undefined,
      perCallCap: opts.perCallCap as string | undefined,
      rate: opts.callsPerMinute as string | undefined,
      endpoint: opts.endpoint as string[] | undefined,
      expiresIn: opts.expiresIn as string | undefined,
      agent: plan.facts.agent,
    };
  const session = openSession(sessionInput(ctx));
  const steps = await runPlanSteps(session, params as unknown as Record<string, unknown>);
  if (ctx.flags.dryRun) {
    const d = dryRun(steps, stepEnv(session));
    if (ctx.flags.json) ctx.out.json({ plan, ...d });
    else ctx.out.data(renderDryRun(d, ctx.out.paint));
    return 0;
  }
  for (const w of plan.warnings) ctx.out.warn(w);
  const rotates = plan.steps.find((s) => s.kind === 'rotate-via-proxy' || s.kind === 'rotate-at-vendor');
  if (rotates)
    await ctx.prompt.typeToConfirm(
      `This plan (${plan.title}) replaces the ${rotates.target} production key.`,
      rotates.target,
    );
  else await ctx.prompt.confirm(`Run "${plan.title}": ${plan.steps.length} step(s), starting with ${plan.action}?`);
  const journal = startIncident(session, 'run', params as unknown as Record<string, unknown>, {
    scenario: plan.scenario,
  });
  journal.append('decided', {
    scenario: plan.scenario,
    action: plan.action,
    reason: plan.reason,
    vault_key_id: plan.facts.vault_key,
    steps: plan.steps,
    leak_estimate: plan.leak_estimate,
    warnings: plan.warnings,
  });
  const env = stepEnv(session, journal);
  const ex = await execute({
    session,
    journal,
    steps,
    env,
    rollbackOnFailure: Boolean(rotates),
    onStep: ctx.flags.json ? undefined : liveStep(ctx),
  });
  const reissued = freshSecrets(env);
  showFreshSecretsOnce(ctx, reissued);
  if (ctx.flags.json)
    ctx.io.stdout.write(
      inertJson(
        {
          incident_id: ex.incident_id,
          scenario: plan.scenario,
          status: ex.status,
          steps: ex.report.steps.map((s) => ({
            key: s.key,
            kind: s.kind,
            target: s.target,
            state: s.state,
            detail: s.detail,
            verified: s.verification?.ok,
          })),
          reissued,
          error: ex.report.error,
        },
        2,
      ) + '\n',
    );
  for (const r of reissued) ctx.secrets.add(r.secret);
  return closeRun(ctx, `run ${plan.scenario}`, ex);
}
