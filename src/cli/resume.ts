import type { CommandInput } from './registry.js';
import { inertJson } from '../core/inert.js';
import type { Ctx } from './context.js';
import { TourniquetError, usageError } from '../core/errors.js';
import { Journal } from '../core/journal.js';
import { execute, openSession, stepEnv } from '../core/actions/session.js';
import { planFor } from '../core/actions/plans.js';
import { journaledSteps, startedEntry, stateFromJournal } from '../core/steps/resume.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { closeRun, freshSecrets, liveStep, sessionInput, showFreshSecretsOnce } from '../render/steps-output.js';

/** Continue an incident from its journal: finished steps are skipped, the rest run in order. */
export async function run({ args }: CommandInput, ctx: Ctx): Promise<number> {
  const id = args[0];
  if (!id) throw usageError('name the incident to resume', 'list them with: tourniquet incidents');
  const session = openSession(sessionInput(ctx));
  // A journal that can no longer be written (a full disk) goes on, to stderr: the action comes first.
  const journal = Journal.open(
    session.stateDir,
    id,
    ctx.secrets.scrub.bind(ctx.secrets),
    session.input.journalFallback,
  );
  const entries = journal.entries();
  const started = startedEntry(entries);
  if (!started)
    throw new TourniquetError('usage', `incident ${id} has no record of what it was running; it cannot be resumed`);
  const last = [...entries].reverse().find((e) => e.type === 'finished');
  if (last?.status === 'done') {
    // Resuming a finished incident is a no-op, so a script may "resume until done".
    ctx.out.info(`incident ${id} is already done; nothing to resume (tourniquet timeline ${id})`);
    if (ctx.flags.json)
      ctx.out.json({
        incident_id: id,
        command: started.command,
        status: 'done',
        already_finished: true,
        resumed_steps: 0,
        steps: [],
      });
    return 0;
  }
  if (last?.status === 'rolled-back')
    throw usageError(
      `incident ${id} was rolled back; nothing to resume`,
      `start again with: tourniquet ${started.command} …  (see tourniquet timeline ${id})`,
    );
  const steps = await planFor(session, started.command, started.params);
  if (ctx.flags.dryRun) {
    // What is left, as calls; nothing is written to the journal and nothing is called.
    const done = journaledSteps(entries);
    const left = steps.filter((st) => !(done.get(st.key)?.run && (done.get(st.key)?.verified || !st.verify)));
    const plan = dryRun(left, stepEnv(session, undefined, stateFromJournal(entries)));
    if (ctx.flags.json) ctx.out.json({ incident_id: id, ...plan });
    else ctx.out.data(renderDryRun(plan, ctx.out.paint));
    return 0;
  }
  journal.append('note', { message: `resumed (${started.command})` });
  ctx.out.info(`resuming ${id} (${started.command})`);
  const env = stepEnv(session, journal, stateFromJournal(entries));
  const ex = await execute({
    session,
    journal,
    steps,
    env,
    rollbackOnFailure: steps.some((s) => s.kind === 'rotate-via-proxy'),
    onStep: ctx.flags.json ? undefined : liveStep(ctx),
  });
  const reissued = freshSecrets(env);
  showFreshSecretsOnce(ctx, reissued);
  // Written raw: the re-issued secrets appear here once; everything printed later is scrubbed of them.
  if (ctx.flags.json)
    ctx.io.stdout.write(
      inertJson(
        {
          incident_id: id,
          command: started.command,
          status: ex.status,
          resumed_steps: ex.report.resumed,
          steps: ex.report.steps.map((s) => ({
            key: s.key,
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
  return closeRun(ctx, `resume ${started.command}`, ex);
}
