import type { Ctx } from '../cli/context.js';
import { EXIT_CODES } from '../core/errors.js';
import type { Execution, FinalStatus, SessionInput } from '../core/actions/session.js';
import type { StepReport } from '../core/steps/types.js';
import { appendSummary, isGithubActions, maskCommand, summaryMarkdown } from './github.js';
import type { StepEnv } from '../core/steps/types.js';
import { stepLine } from './steps.js';

/** The plain functions an acting command hands to core: no Ctx crosses into src/core. */
export function sessionInput(ctx: Ctx, overrides: Record<string, string | undefined> = {}): SessionInput {
  return {
    env: ctx.io.env,
    stdin: ctx.io.stdin,
    profile: ctx.flags.profile,
    dryRun: ctx.flags.dryRun,
    signal: ctx.signal,
    log: (line) => ctx.out.info(line),
    confirm: (message) => ctx.prompt.confirm(message),
    askSecret: (o) => ctx.prompt.password(o),
    trace: ctx.trace,
    register: (secret) => registerSecret(ctx, secret),
    scrub: (text) => ctx.secrets.scrub(text),
    overrides,
  };
}

/** Register a secret for scrubbing, and mask it in a GitHub Actions log. */
export function registerSecret(ctx: Ctx, secret: string): void {
  ctx.secrets.add(secret);
  maskInActions(ctx, secret);
}

/**
 * `::add-mask::` under GitHub Actions. The runner reads workflow commands from stderr as well as
 * stdout; stderr keeps stdout pure data (`--json` stays parseable). Written before the secret.
 */
export function maskInActions(ctx: Ctx, secret: string): void {
  if (isGithubActions(ctx.io.env)) ctx.io.stderr.write(maskCommand(secret));
}

export const liveStep = (ctx: Ctx) => (r: StepReport) => ctx.out.info(stepLine(r, ctx.out.errPaint));

export const EXIT_FOR: Record<FinalStatus, number> = {
  done: EXIT_CODES.ok,
  unverified: EXIT_CODES.verification,
  partial: EXIT_CODES.partial,
  failed: EXIT_CODES['step-failed'],
  'rolled-back': EXIT_CODES['step-failed'],
  cancelled: EXIT_CODES.cancelled,
};

/** The closing lines every acting command prints, the GitHub summary, and the exit code. */
export function closeRun(ctx: Ctx, title: string, ex: Execution): number {
  const p = ctx.out.errPaint;
  const err = ex.report.error;
  if (err) ctx.out.info(p.red(`${title}: ${err.message}`) + (err.hint ? `\n  ${err.hint}` : ''));
  if (ex.status === 'partial') ctx.out.info(`partly done; the journal is saved. Continue with: ${p.bold(`tourniquet resume ${ex.incident_id}`)}`);
  else if (ex.status === 'done') ctx.out.info(p.green(`${title}: done and verified`) + p.dim(` (incident ${ex.incident_id})`));
  else ctx.out.info(`${title}: ${ex.status} ${p.dim(`(incident ${ex.incident_id}; see: tourniquet timeline ${ex.incident_id})`)}`);
  if (ctx.io.env.GITHUB_STEP_SUMMARY) appendSummary(ctx.io.env, summaryMarkdown(title, ex.incident_id, ex.status, ex.report));
  return EXIT_FOR[ex.status];
}

/** New vault keys a run made (re-issued or rolled): id and secret, to be shown exactly once. */
export function freshSecrets(env: StepEnv): Array<{ id: string; secret: string }> {
  return [...env.secrets].filter(([k]) => k.startsWith('reissued:')).map(([k, secret]) => ({ id: k.slice('reissued:'.length), secret }));
}

/** Print fresh secrets once, raw, on stdout (masked first under GitHub Actions); later output scrubs them. */
export function showFreshSecretsOnce(ctx: Ctx, fresh: Array<{ id: string; secret: string }>): void {
  for (const r of fresh) maskInActions(ctx, r.secret);
  if (!ctx.flags.json) for (const r of fresh) ctx.io.stdout.write(`${r.id}\t${r.secret}\n`);
}
