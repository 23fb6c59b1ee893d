import { join } from 'node:path';
import type { Ctx } from './context.js';
import { EXIT_CODES, usageError } from '../core/errors.js';
import { exitCodeOf, openSession } from '../core/actions/session.js';
import type { RotateInput } from '../core/actions/plans.js';
import { adminClient } from '../core/incident/admin.js';
import { noProxyUrl } from '../core/first-run.js';
import { parseMaxAge } from '../core/rotation/policy.js';
import { scheduledRotation } from '../core/rotation/scheduled.js';
import { buildEvidence, writeEvidence } from '../core/rotation/evidence.js';
import { renderEvidenceMarkdown } from '../render/rotation-evidence.js';
import { appendSummary, setOutputs } from '../render/github.js';
import { liveStep, sessionInput } from '../render/steps-output.js';
import { VERSION } from '../main.js';
import { scalarText } from '../core/json.js';

/**
 * `rotate VENDOR --if-older-than 90d | --if-due`: the scheduled path (see core/rotation/scheduled.ts).
 * Prints what it did, writes the evidence (JSON and Markdown), and under GitHub Actions the step
 * summary and the step outputs. Exit 0 for "nothing due" and for a verified rotation; 5 when a
 * probe call failed during it; the rotation's own codes otherwise (6 partly done, 1 failed).
 */
export function isScheduled(opts: Record<string, unknown>): boolean {
  return opts.ifOlderThan !== undefined || opts.ifDue === true;
}

export async function runScheduled(params: RotateInput, opts: Record<string, unknown>, ctx: Ctx): Promise<number> {
  if (opts.ifOlderThan !== undefined && opts.ifDue === true)
    throw usageError('--if-older-than and --if-due are two ways to say the same; pass one');
  const maxAge = opts.ifOlderThan as string | undefined;
  if (maxAge !== undefined) parseMaxAge(maxAge, '--if-older-than');
  const probeIntervalMs = Number(opts.probeInterval ?? 500);
  if (!(probeIntervalMs >= 20)) throw usageError('--probe-interval takes milliseconds, at least 20');
  if (ctx.flags.dryRun)
    throw usageError('--dry-run shows the rotation itself: run it without --if-older-than/--if-due');
  const session = openSession(sessionInput(ctx));
  const admin = await adminClient(session.settings, {
    io: { env: ctx.io.env, stdin: ctx.io.stdin },
    trace: ctx.trace,
    register: (s) => ctx.secrets.add(s),
  });
  if (!admin) throw noProxyUrl('a scheduled rotation needs our proxy (proxy_kind tourniquet, proxy_url set)');
  const outcome = await scheduledRotation(
    session,
    admin,
    params,
    { maxAge, probeIntervalMs },
    {
      confirm: () =>
        ctx.prompt.typeToConfirm(
          `${params.vendor}'s production key is due: a new key goes live at the proxy, the old one is retired and deleted at the vendor.`,
          params.vendor,
        ),
      onStep: ctx.flags.json ? undefined : liveStep(ctx),
    },
  );
  const evidence = buildEvidence(outcome, { version: VERSION, env: ctx.io.env });
  const markdown = ctx.secrets.scrub(renderEvidenceMarkdown(evidence));
  const files = writeEvidence(
    scalarText(opts.evidence) ?? join(session.stateDir, 'evidence'),
    // The same evidence, with every registered secret scrubbed from its strings.
    JSON.parse(ctx.secrets.scrub(JSON.stringify(evidence))) as typeof evidence,
    markdown,
  );
  const code =
    outcome.kind === 'nothing-due'
      ? 0
      : outcome.execution.status === 'done' && outcome.probe.failed > 0
        ? EXIT_CODES.verification
        : exitCodeOf(outcome.execution);
  const p = ctx.out.errPaint;
  if (outcome.kind === 'nothing-due')
    ctx.out.info(
      `nothing due: ${params.vendor} key ${outcome.key.id} is ${evidence.key_checked.age_days} days old; due ${outcome.due.due_at?.slice(0, 10)} (max age ${outcome.policy.max_age}, ${outcome.policy.source})`,
    );
  else
    ctx.out.info(
      (code === 0 ? p.green : p.red)(
        `rotation ${outcome.execution.status}: ${outcome.probe.calls} probe calls through the proxy, ${outcome.probe.failed} failed (incident ${outcome.execution.incident_id})`,
      ),
    );
  ctx.out.info(p.dim(`evidence: ${files.markdown}`));
  if (ctx.flags.json) ctx.out.json({ ...evidence, exit_code: code, evidence_files: files });
  else
    ctx.out.data(
      `${params.vendor}: ${evidence.outcome}${evidence.new_key ? ` ${evidence.key_checked.id} → ${evidence.new_key.id}` : ''}`,
    );
  appendSummary(ctx.io.env, markdown);
  setOutputs(ctx.io.env, {
    status: evidence.outcome,
    rotated: outcome.kind === 'rotated' && outcome.execution.status === 'done',
    verified: evidence.verified,
    incident: evidence.incident_id,
    evidence: files.json,
    failed_probe_calls: evidence.probe?.failed ?? 0,
  });
  return code;
}
