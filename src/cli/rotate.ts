import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { execute, openSession, startIncident, stepEnv } from '../core/actions/session.js';
import { rotatePlan, type RotateInput } from '../core/actions/plans.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { closeRun, liveStep, sessionInput } from '../render/steps-output.js';
import { jsonText, scalarText } from '../core/json.js';

export function rotateParams(args: string[], opts: Record<string, unknown>): RotateInput {
  const vendor = args[0];
  if (!vendor)
    throw usageError(
      'name the vendor whose production key to rotate',
      'e.g. tourniquet rotate stripe --new-key-file new-key.txt',
    );
  if (opts.authToken === true && vendor.toLowerCase() !== 'twilio')
    throw usageError('--auth-token is for Twilio (its account auth token)');
  const tail = Number(opts.tailTimeout ?? 300);
  const interval = Number(opts.tailInterval ?? 2000);
  if (!Number.isFinite(tail) || tail < 0) throw usageError('--tail-timeout takes seconds');
  if (!Number.isFinite(interval) || interval < 10) throw usageError('--tail-interval takes milliseconds (at least 10)');
  return {
    vendor: vendor.toLowerCase(),
    newKeyFile: opts.newKeyFile as string | undefined,
    oldKeyFile: opts.oldKeyFile as string | undefined,
    oldVendorKeyId: opts.oldKeyId as string | undefined,
    authToken: opts.authToken === true,
    watchOldKey: Boolean(opts.oldKeyFile) || opts.authToken === true,
    tailTimeoutMs: tail * 1000,
    tailIntervalMs: interval,
  };
}

/** What the tail watch found, from its outputs: refused, or still accepted when it gave up; '' when not watched. */
function tailText(s: Record<string, unknown>): string {
  if (s.tail_seconds === undefined || s.tail_seconds === null) return '';
  const after = `after ${jsonText(s.tail_seconds)} s`;
  return s.old_key_refused === true
    ? `; old key refused by the vendor ${after}`
    : `; old key STILL ACCEPTED by the vendor ${after}`;
}

export async function run({ args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  const params = rotateParams(args, opts);
  const scheduled = await import('./rotate-scheduled.js');
  if (scheduled.isScheduled(opts)) return scheduled.runScheduled(params, opts, ctx);
  const session = openSession(sessionInput(ctx));
  const steps = await rotatePlan(session, params);
  if (ctx.flags.dryRun) {
    const plan = dryRun(steps, stepEnv(session));
    if (ctx.flags.json) ctx.out.json(plan);
    else ctx.out.data(renderDryRun(plan, ctx.out.paint));
    return 0;
  }
  await ctx.prompt.typeToConfirm(
    `This replaces the ${params.vendor} production key: a new key goes live at the proxy, the old one is retired and deleted at the vendor.`,
    params.vendor,
  );
  const journal = startIncident(
    session,
    'rotate',
    { ...params },
    { scenario: 'compliance-rotation', reason: 'replace the production key through the proxy with no downtime' },
  );
  const ex = await execute({
    session,
    journal,
    steps,
    env: stepEnv(session, journal),
    rollbackOnFailure: true,
    onStep: ctx.flags.json ? undefined : liveStep(ctx),
  });
  const s = ex.report.state;
  const result = {
    incident_id: ex.incident_id,
    vendor: params.vendor,
    status: ex.status,
    verified: ex.status === 'done',
    old_upstream_key_id: s.old_upstream_key_id ?? null,
    new_upstream_key_id: s.new_upstream_key_id ?? null,
    new_key_hint: s.new_hint ?? null,
    tail_seconds: s.tail_seconds ?? null,
    steps: ex.report.steps.map((r) => ({
      key: r.key,
      title: r.title,
      state: r.state,
      detail: r.detail,
      verified: r.verification?.ok,
      ms: r.ms,
    })),
    error: ex.report.error,
  };
  if (ctx.flags.json) ctx.out.json(result);
  else
    ctx.out.data(
      `${params.vendor}: ${scalarText(result.old_upstream_key_id) ?? '?'} → ${scalarText(result.new_upstream_key_id) ?? '?'} (${ex.status})${tailText(s)}`,
    );
  return closeRun(ctx, 'rotate', ex);
}
