import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { execute, openSession, startIncident, stepEnv } from '../core/actions/session.js';
import { rollSteps } from '../core/actions/issue.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { closeRun, liveStep, sessionInput } from '../render/steps-output.js';
import { writeSecretOnce } from './issue.js';
import { inertJson } from '../core/inert.js';

export async function run({ args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  const id = args[0];
  if (!id) throw usageError('name the vault key to roll', 'e.g. tourniquet roll vk_agent_7 --yes');
  const params = { id, revokeOld: opts.keepOld !== true, verifyTimeoutMs: Number(opts.verifyTimeout ?? 5000) };
  const session = openSession(sessionInput(ctx));
  const steps = rollSteps(params, { proxy: await session.proxy() });
  const env = stepEnv(session);
  if (ctx.flags.dryRun) {
    const plan = dryRun(steps, env);
    if (ctx.flags.json) ctx.out.json(plan);
    else ctx.out.data(renderDryRun(plan, ctx.out.paint));
    return 0;
  }
  await ctx.prompt.confirm(
    `Roll ${id}: issue a new secret with the same policy${params.revokeOld ? ' and revoke the old one now' : ''}?`,
  );
  const journal = startIncident(session, 'roll', params, { scenario: 'vault-key-in-logs' });
  const runEnv = stepEnv(session, journal);
  const ex = await execute({
    session,
    journal,
    steps,
    env: runEnv,
    onStep: ctx.flags.json ? undefined : liveStep(ctx),
  });
  const secret = runEnv.secrets.get(`rolled:${id}`);
  const newId = ex.report.state[`rolled:${id}`] as string | undefined;
  if (secret) writeSecretOnce(ctx, secret, opts.out as string | undefined);
  // verified: the new key was made and, when asked, every instance explicitly refuses the old one.
  const result = {
    incident_id: ex.incident_id,
    status: ex.status,
    verified: ex.status === 'done',
    old_id: id,
    new_id: newId ?? null,
    old_revoked: params.revokeOld,
    journal: { saved: !ex.journal_problem, problem: ex.journal_problem ?? null },
  };
  if (ctx.flags.json)
    ctx.io.stdout.write(
      inertJson(
        {
          ...result,
          ...(secret && !opts.out ? { secret } : {}),
          ...(opts.out ? { secret_file: opts.out } : {}),
          error: ex.report.error,
        },
        2,
      ) + '\n',
    );
  else if (secret && !opts.out) ctx.io.stdout.write(secret + '\n');
  if (secret) ctx.secrets.add(secret);
  return closeRun(ctx, 'roll', ex);
}
