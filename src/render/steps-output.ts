import type { Ctx } from '../cli/context.js';
import { exitCodeOf, type Execution, type SessionInput } from '../core/actions/session.js';
import { EXIT_CODES } from '../core/errors.js';
import { inertLines } from '../core/inert.js';
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
    unattended: ctx.flags.yes === true,
    askSecret: (o) => ctx.prompt.password(o),
    trace: ctx.trace,
    register: (secret) => registerSecret(ctx, secret),
    scrub: (text) => ctx.secrets.scrub(text),
    overrides,
    journalFallback: (line) => ctx.io.stderr.write(line + '\n'),
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

/**
 * The closing lines every acting command prints, the GitHub summary, and the exit code.
 * `missing`: things the operator named that do not exist; a run that found some is not "done
 * and verified" but exit 4 (nothing was done for them).
 */
export function closeRun(ctx: Ctx, title: string, ex: Execution, o: { missing?: string[] } = {}): number {
  const missing = ex.status === 'done' && o.missing?.length ? o.missing : undefined;
  const p = ctx.out.errPaint;
  const err = ex.report.error;
  // A step's error often quotes a server: inert, so it cannot colour or move anything (core/inert.ts).
  if (err)
    ctx.out.info(p.red(`${title}: ${inertLines(err.message)}`) + (err.hint ? `\n  ${inertLines(err.hint)}` : ''));
  if (ex.journal_problem)
    ctx.out.info(
      p.red(
        `${title}: the journal could not be written (${ex.journal_problem}); every entry is on stderr above as a JSON line. Keep them: they are the incident's record.`,
      ),
    );
  // What an unattended run left for a person: named, so nobody reads "partly done" as "done".
  for (const s of ex.report.steps.filter((x) => x.state === 'manual-pending'))
    ctx.out.info(p.red(`${title}: left to do by hand (not done, not confirmed): ${inertLines(s.title)}`));
  if (ex.status === 'partial' && ex.report.error?.kind === 'not-found')
    ctx.out.info(
      `partly done, then stopped (resume would stop there again); the journal is saved. What was done: ${p.bold(`tourniquet timeline ${ex.incident_id}`)}`,
    );
  else if (ex.status === 'partial')
    ctx.out.info(
      `partly done; ${ex.journal_problem ? 'the journal is NOT saved' : 'the journal is saved'}. Continue with: ${p.bold(`tourniquet resume ${ex.incident_id}`)}`,
    );
  else if (missing)
    ctx.out.info(
      `${title}: no ${missing.join(', ')}: nothing done for ${missing.length === 1 ? 'it' : 'them'} ${p.dim(`(incident ${ex.incident_id})`)}`,
    );
  else if (ex.status === 'done' && !ex.journal_problem)
    ctx.out.info(p.green(`${title}: done and verified`) + p.dim(` (incident ${ex.incident_id})`));
  else if (ex.status === 'done') ctx.out.info(`${title}: done and verified, but not journaled: exit 6`);
  else
    ctx.out.info(
      `${title}: ${ex.status} ${p.dim(`(incident ${ex.incident_id}; see: tourniquet timeline ${ex.incident_id})`)}`,
    );
  if (ctx.io.env.GITHUB_STEP_SUMMARY)
    appendSummary(ctx.io.env, summaryMarkdown(title, ex.incident_id, ex.status, ex.report));
  const code = exitCodeOf(ex);
  return missing && code === EXIT_CODES.ok ? EXIT_CODES['not-found'] : code;
}

/** New vault keys a run made (re-issued or rolled): id and secret, to be shown exactly once. */
export function freshSecrets(env: StepEnv): Array<{ id: string; secret: string }> {
  return [...env.secrets]
    .filter(([k]) => k.startsWith('reissued:'))
    .map(([k, secret]) => ({ id: k.slice('reissued:'.length), secret }));
}

/** Print fresh secrets once, raw, on stdout (masked first under GitHub Actions); later output scrubs them. */
export function showFreshSecretsOnce(ctx: Ctx, fresh: Array<{ id: string; secret: string }>): void {
  for (const r of fresh) maskInActions(ctx, r.secret);
  if (!ctx.flags.json) for (const r of fresh) ctx.io.stdout.write(`${r.id}\t${r.secret}\n`);
}
