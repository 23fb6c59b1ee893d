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
    steps: steps.map((s) => ({
      key: s.key,
      title: s.title,
      kind: s.kind,
      target: s.target,
      enabled: s.enabled?.(env) ?? true,
      calls: s.calls(env),
    })),
  };
}

function base(step: Step): Omit<StepReport, 'state' | 'detail'> {
  return {
    key: step.key,
    title: step.title,
    kind: step.kind,
    target: step.target,
    calls: [],
    ...(step.readOnly ? { read_only: true } : {}),
  };
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

function errorInfo(err: unknown): { kind: string; message: string; hint?: string; required_scope?: string } {
  if (err instanceof TourniquetError) {
    // A 403 insufficient_scope names the scope a token needs (C3): scripts read it from --json.
    const scope = err.data?.required_scope;
    return {
      kind: err.kind,
      message: err.message,
      hint: err.hint,
      ...(typeof scope === 'string' ? { required_scope: scope } : {}),
    };
  }
  return { kind: 'bug', message: err instanceof Error ? err.message : String(err) };
}

async function verifyStep(
  step: Step,
  env: StepEnv,
  run: StepRun,
  journal: Journal,
): Promise<Verification & { errorKind?: string }> {
  env.calls.length = 0;
  let v: Verification & { errorKind?: string };
  try {
    v = await step.verify!(env, run);
  } catch (err) {
    v = { ok: false, detail: `verification could not run: ${errorInfo(err).message}`, errorKind: errorInfo(err).kind };
  }
  journal.append('verified', {
    step: step.key,
    ok: v.ok,
    detail: v.detail,
    calls: compressCalls(env.calls),
    ...(v.data ? { data: v.data } : {}),
  });
  return v;
}

export async function runSteps(opts: EngineOptions): Promise<RunReport> {
  return new EngineRun(opts).run();
}

type Stop = { status: RunReport['status']; error: NonNullable<RunReport['error']> };
const isDone = (run: StepRun) => run.status === 'not-found' || run.status === 'skipped';
const enabledNow = (step: Step, env: StepEnv) => (step.enabled?.(env) ?? true) === true;

/** One pass over a plan; its fields are what the report is built from. */
class EngineRun {
  private readonly reports: StepReport[] = [];
  private readonly completed: Step[] = [];
  private resumed = 0;

  constructor(private readonly o: EngineOptions) {}

  async run(): Promise<RunReport> {
    const known = journaledSteps(entriesOf(this.o.journal));
    for (const step of this.o.steps) {
      const prior = known.get(step.key);
      // A manual step an unattended run left undone is asked again on resume; a step skipped then
      // is asked `enabled` again (what it waited for may be done now: the old key deleted by hand).
      const undone =
        prior?.run?.status === 'manual-pending' || (prior?.run?.status === 'skipped' && enabledNow(step, this.o.env));
      if (prior?.run && !undone && (prior.verified || !step.verify || isDone(prior.run))) {
        this.resumedDone(step, prior.run);
        continue;
      }
      if (this.o.env.signal.aborted)
        return this.finish('cancelled', { kind: 'cancelled', message: 'cancelled by the operator' });
      const enabled = step.enabled?.(this.o.env) ?? true;
      if (enabled !== true) {
        this.o.journal.append('step', {
          step: step.key,
          kind: step.kind,
          title: step.title,
          target: step.target,
          phase: 'finished',
          outcome: 'skipped',
          detail: enabled,
        });
        this.report({ ...base(step), state: 'skipped', detail: enabled });
        continue;
      }
      // Left undone by hand, or skipped and enabled now: run it, never replay "not done" or "skipped".
      const stop = await this.execute(step, undone ? undefined : prior?.run);
      if (stop) return this.fail(stop);
    }
    return this.finish('done');
  }

  private report(r: StepReport): void {
    this.reports.push(r);
    this.o.onStep?.(r);
  }

  private resumedDone(step: Step, run: StepRun): void {
    Object.assign(this.o.env.state, run.outputs ?? {});
    this.completed.push(step);
    this.resumed++;
    this.report({ ...base(step), state: 'resumed-done', detail: run.detail });
  }

  /** Run (unless a killed process already did) and verify one step; a Stop ends the plan. */
  private async execute(step: Step, prior: StepRun | undefined): Promise<Stop | undefined> {
    const { env, journal } = this.o;
    const started = env.now();
    const timing = () => ({ started_offset_ms: started, ms: env.now() - started });
    let run = prior; // finished before a kill, not yet verified: verify only
    if (run) Object.assign(env.state, run.outputs ?? {});
    else {
      journal.append('step', {
        step: step.key,
        kind: step.kind,
        title: step.title,
        target: step.target,
        phase: 'started',
      });
      env.calls.length = 0;
      try {
        run = await step.run(env);
      } catch (err) {
        const info = errorInfo(err);
        const calls = compressCalls(env.calls);
        journal.append('step', {
          step: step.key,
          kind: step.kind,
          phase: 'failed',
          error: info.message,
          hint: info.hint,
          calls,
        });
        this.report({ ...base(step), state: 'failed', detail: info.message, error: info.message, calls, ...timing() });
        return { status: info.kind === 'cancelled' ? 'cancelled' : 'failed', error: info };
      }
      Object.assign(env.state, run.outputs ?? {});
      journal.append('step', {
        step: step.key,
        kind: step.kind,
        phase: 'finished',
        outcome: run.status,
        detail: run.detail,
        outputs: run.outputs ?? {},
        calls: compressCalls(env.calls),
        ms: env.now() - started,
      });
    }
    const calls = compressCalls(env.calls);
    const verification = step.verify && !isDone(run) ? await verifyStep(step, env, run, journal) : undefined;
    if (verification && !verification.ok) {
      if (env.signal.aborted) {
        this.report({
          ...base(step),
          state: 'failed',
          detail: 'cancelled while verifying',
          calls,
          verification,
          ...timing(),
        });
        return {
          status: 'cancelled',
          error: { kind: 'cancelled', message: 'cancelled by the operator while verifying' },
        };
      }
      const { errorKind, ...shown } = verification;
      this.report({ ...base(step), state: 'unverified', detail: run.detail, calls, verification: shown, ...timing() });
      const security = step.verificationIsSecurity === true;
      // Refused credentials are their own failure (exit 3), whatever the verification was for.
      const kind = errorKind === 'auth' ? 'auth' : security ? 'verification' : 'step-failed';
      return {
        status: security ? 'unverified' : 'failed',
        error: { kind, message: `${step.title}: not verified: ${verification.detail}` },
      };
    }
    this.completed.push(step);
    this.report({ ...base(step), state: run.status, detail: run.detail, calls, verification, ...timing() });
    return undefined;
  }

  private finish(status: RunReport['status'], error?: RunReport['error']): RunReport {
    const seen = new Set(this.reports.map((r) => r.key));
    const pending = this.o.steps
      .filter((s) => !seen.has(s.key))
      .map((s) => ({ ...base(s), state: 'pending' as const, detail: 'not run' }));
    return { status, steps: [...this.reports, ...pending], resumed: this.resumed, state: this.o.env.state, error };
  }

  /** Roll back what was done, newest first, each at most once, stopping at an irreversible step. */
  private async fail({ status, error }: Stop): Promise<RunReport> {
    if (!this.o.rollbackOnFailure || status === 'cancelled') return this.finish(status, error);
    const { env, journal } = this.o;
    const failedStep = this.o.steps.find((s) => s.key === this.reports[this.reports.length - 1]?.key);
    const toUndo = [
      ...this.completed,
      ...(failedStep && !this.completed.includes(failedStep) ? [failedStep] : []),
    ].reverse();
    let rolledBack = 0;
    for (const step of toUndo) {
      if (step.irreversible) break;
      if (!step.rollback) continue;
      try {
        env.calls.length = 0;
        const detail = await step.rollback(env);
        journal.append('step', {
          step: step.key,
          kind: step.kind,
          phase: 'rolled-back',
          detail,
          calls: compressCalls(env.calls),
        });
        const r = this.reports.find((x) => x.key === step.key);
        if (r && r.state !== 'failed' && r.state !== 'unverified') r.state = 'rolled-back';
        rolledBack++;
      } catch (err) {
        journal.append('step', {
          step: step.key,
          kind: step.kind,
          phase: 'rollback-failed',
          error: errorInfo(err).message,
        });
        return this.finish(status, {
          ...error,
          message: `${error.message}; rolling back "${step.title}" failed too: ${errorInfo(err).message}`,
        });
      }
    }
    return this.finish(rolledBack > 0 && status === 'failed' ? 'rolled-back' : status, error);
  }
}
