import type { Journal } from '../journal.js';
import { TourniquetError } from '../errors.js';
import { entriesOf, journaledSteps } from './resume.js';
import type { DryRunReport, RunReport, Step, StepEnv, StepReport, StepRun, Verification } from './types.js';

/**
 * Runs a plan: for each step, enabled? → run → journal → verify → journal, each journal line
 * fsync'd before the next step starts. A step the journal already shows as finished and
 * verified is not run again (resume). On failure, completed steps are rolled back in reverse,
 * each at most once, when `rollbackOnFailure` is set, stopping at an irreversible step.
 */
export interface EngineOptions {
  steps: Step[];
  env: StepEnv;
  journal: Journal;
  rollbackOnFailure?: boolean;
  /** Called after each step with its report (for live progress). */
  onStep?: (report: StepReport) => void;
}

export function dryRun(steps: Step[], env: StepEnv): DryRunReport {
  return {
    dry_run: true,
    steps: steps.map((s) => ({ key: s.key, title: s.title, kind: s.kind, target: s.target, enabled: s.enabled?.(env) ?? true, calls: s.calls(env) })),
  };
}

function base(step: Step): Omit<StepReport, 'state' | 'detail'> {
  return { key: step.key, title: step.title, kind: step.kind, target: step.target, calls: [], ...(step.readOnly ? { read_only: true } : {}) };
}

/** Repeated calls (a poll) are journaled once with a count: `GET https://…/v1/models ×42`. */
export function compressCalls(calls: readonly string[]): string[] {
  const out: string[] = [];
  let last = '';
  let n = 0;
  const flush = () => {
    if (n) out.push(n > 1 ? `${last} ×${n}` : last);
  };
  for (const c of calls) {
    if (c === last) n++;
    else {
      flush();
      last = c;
      n = 1;
    }
  }
  flush();
  return out;
}

function errorInfo(err: unknown): { kind: string; message: string; hint?: string } {
  if (err instanceof TourniquetError) return { kind: err.kind, message: err.message, hint: err.hint };
  return { kind: 'bug', message: err instanceof Error ? err.message : String(err) };
}

async function verifyStep(step: Step, env: StepEnv, run: StepRun, journal: Journal): Promise<Verification> {
  env.calls.length = 0;
  let v: Verification;
  try {
    v = await step.verify!(env, run);
  } catch (err) {
    v = { ok: false, detail: `verification could not run: ${errorInfo(err).message}` };
  }
  journal.append('verified', { step: step.key, ok: v.ok, detail: v.detail, calls: compressCalls(env.calls), ...(v.data ? { data: v.data } : {}) });
  return v;
}

export async function runSteps(opts: EngineOptions): Promise<RunReport> {
  const { steps, env, journal } = opts;
  const known = journaledSteps(entriesOf(journal));
  const reports: StepReport[] = [];
  const completed: Step[] = [];
  let resumed = 0;
  const report = (r: StepReport) => {
    reports.push(r);
    opts.onStep?.(r);
  };

  for (const step of steps) {
    const prior = known.get(step.key);
    if (prior?.run && (prior.verified || !step.verify || prior.run.status === 'not-found' || prior.run.status === 'skipped')) {
      Object.assign(env.state, prior.run.outputs ?? {});
      completed.push(step);
      resumed++;
      report({ ...base(step), state: 'resumed-done', detail: prior.run.detail });
      continue;
    }
    if (env.signal.aborted) return finish('cancelled', { kind: 'cancelled', message: 'cancelled by the operator' });

    const enabled = step.enabled?.(env) ?? true;
    if (enabled !== true) {
      journal.append('step', { step: step.key, kind: step.kind, title: step.title, target: step.target, phase: 'finished', outcome: 'skipped', detail: enabled });
      report({ ...base(step), state: 'skipped', detail: enabled });
      continue;
    }

    const started = env.now();
    let run: StepRun;
    if (prior?.run) {
      run = prior.run; // finished before a kill, not yet verified: verify only
      Object.assign(env.state, run.outputs ?? {});
    } else {
      journal.append('step', { step: step.key, kind: step.kind, title: step.title, target: step.target, phase: 'started' });
      env.calls.length = 0;
      try {
        run = await step.run(env);
      } catch (err) {
        const info = errorInfo(err);
        journal.append('step', { step: step.key, kind: step.kind, phase: 'failed', error: info.message, hint: info.hint, calls: compressCalls(env.calls) });
        report({ ...base(step), state: 'failed', detail: info.message, error: info.message, calls: compressCalls(env.calls), started_offset_ms: started, ms: env.now() - started });
        return fail(info.kind === 'cancelled' ? 'cancelled' : 'failed', info);
      }
      Object.assign(env.state, run.outputs ?? {});
      journal.append('step', { step: step.key, kind: step.kind, phase: 'finished', outcome: run.status, detail: run.detail, outputs: run.outputs ?? {}, calls: compressCalls(env.calls), ms: env.now() - started });
    }
    const calls = compressCalls(env.calls);
    let verification: Verification | undefined;
    if (step.verify && run.status !== 'not-found' && run.status !== 'skipped') {
      verification = await verifyStep(step, env, run, journal);
      if (!verification.ok && env.signal.aborted) {
        report({ ...base(step), state: 'failed', detail: 'cancelled while verifying', calls, verification, started_offset_ms: started, ms: env.now() - started });
        return fail('cancelled', { kind: 'cancelled', message: 'cancelled by the operator while verifying' });
      }
      if (!verification.ok) {
        report({ ...base(step), state: 'unverified', detail: run.detail, calls, verification, started_offset_ms: started, ms: env.now() - started });
        const info = { kind: step.verificationIsSecurity ? 'verification' : 'step-failed', message: `${step.title}: not verified: ${verification.detail}` };
        return fail(step.verificationIsSecurity ? 'unverified' : 'failed', info);
      }
    }
    completed.push(step);
    report({ ...base(step), state: run.status, detail: run.detail, calls, verification, started_offset_ms: started, ms: env.now() - started });
  }
  return finish('done');

  function finish(status: RunReport['status'], error?: RunReport['error']): RunReport {
    return { status, steps: [...reports, ...pending()], resumed, state: env.state, error };
  }

  function pending(): StepReport[] {
    const seen = new Set(reports.map((r) => r.key));
    return steps.filter((s) => !seen.has(s.key)).map((s) => ({ ...base(s), state: 'pending' as const, detail: 'not run' }));
  }

  async function fail(status: RunReport['status'], error: NonNullable<RunReport['error']>): Promise<RunReport> {
    if (!opts.rollbackOnFailure || status === 'cancelled') return finish(status, error);
    const failedStep = steps.find((s) => s.key === reports[reports.length - 1]?.key);
    const toUndo = [...completed, ...(failedStep && !completed.includes(failedStep) ? [failedStep] : [])].reverse();
    let rolledBack = 0;
    for (const step of toUndo) {
      if (step.irreversible) break;
      if (!step.rollback) continue;
      try {
        env.calls.length = 0;
        const detail = await step.rollback(env);
        journal.append('step', { step: step.key, kind: step.kind, phase: 'rolled-back', detail, calls: compressCalls(env.calls) });
        const r = reports.find((x) => x.key === step.key);
        if (r && r.state !== 'failed' && r.state !== 'unverified') r.state = 'rolled-back';
        rolledBack++;
      } catch (err) {
        journal.append('step', { step: step.key, kind: step.kind, phase: 'rollback-failed', error: errorInfo(err).message });
        return finish(status, { ...error, message: `${error.message}; rolling back "${step.title}" failed too: ${errorInfo(err).message}` });
      }
    }
    return finish(rolledBack > 0 && status === 'failed' ? 'rolled-back' : status, error);
  }
}
