import type { StepEnv, StepRun } from './types.js';

/**
 * A step a person must do (delete a key in a vendor's console, tell a team). At a terminal the
 * operator confirms it (`manual-done`). Unattended (--yes), nobody did it and nobody confirmed
 * it: it is recorded as not done (`manual-pending`), the run ends partly done (exit 6) and says
 * what is left to do by hand; `tourniquet resume` asks again. `--yes` never stands for a person.
 */
export async function manualStep(
  env: StepEnv,
  instruction: string,
  question: string,
  doneDetail: string,
  /** An output later steps read: true while the step is left undone, false once a person did it. */
  pendingFlag?: string,
): Promise<StepRun> {
  const flag = (pending: boolean) => (pendingFlag ? { outputs: { [pendingFlag]: pending } } : {});
  if (env.unattended)
    return {
      status: 'manual-pending',
      detail: `NOT DONE, left to do by hand: ${instruction} (an unattended run: --yes does not confirm what a person must do)`,
      ...flag(true),
    };
  await env.confirm(question);
  return { status: 'manual-done', detail: doneDetail, ...flag(false) };
}
