import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { execute, openSession, startIncident, stepEnv } from '../core/actions/session.js';
import { revokeResult, revokeSteps, type RevokeParams, type RevokeResult } from '../core/actions/revoke.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { closeRun, liveStep, sessionInput } from '../render/steps-output.js';

export function revokeParams(args: string[], opts: Record<string, unknown>): RevokeParams {
  const p: RevokeParams = {
    ids: args,
    hard: opts.hard === true,
    allUnder: opts.allUnder as string | undefined,
    vendor: opts.vendor as string | undefined,
    reason: opts.reason as string | undefined,
    verifyTimeoutMs: Number(opts.verifyTimeout ?? 5000),
  };
  if (!p.ids.length && !p.allUnder && !p.vendor)
    throw usageError(
      'name the vault key(s) to revoke, or --all-under UPSTREAM_KEY_ID, or --vendor V',
      'e.g. tourniquet revoke vk_agent_7 --yes',
    );
  if (p.allUnder && p.vendor) throw usageError('--all-under and --vendor are alternatives: pass one');
  if (!Number.isFinite(p.verifyTimeoutMs) || p.verifyTimeoutMs < 0)
    throw usageError('--verify-timeout takes milliseconds');
  return p;
}

export async function run({ args, opts }: CommandInput, ctx: Ctx): Promise<number> {
  const params = revokeParams(args, opts);
  const session = openSession(sessionInput(ctx));
  const proxy = await session.proxy();
  const steps = revokeSteps(params, { proxy });
  if (ctx.flags.dryRun) {
    const plan = dryRun(steps, stepEnv(session));
    if (ctx.flags.json) ctx.out.json(plan);
    else ctx.out.data(renderDryRun(plan, ctx.out.paint));
    return 0;
  }
  if (params.hard && !proxy.capabilities.hardRevoke)
    ctx.out.warn(`the ${proxy.kind} proxy cannot cut requests in flight; --hard acts as a normal revoke`);
  const what = [
    ...params.ids,
    ...(params.allUnder ? [`every vault key under ${params.allUnder}`] : []),
    ...(params.vendor ? [`every ${params.vendor} vault key`] : []),
  ].join(', ');
  await ctx.prompt.confirm(
    `Revoke ${what} at the proxy? Agents using ${params.ids.length + (params.allUnder || params.vendor ? 2 : 0) > 1 ? 'them' : 'it'} are refused on their next request.`,
  );
  const journal = startIncident(
    session,
    'revoke',
    { ...params },
    { scenario: params.allUnder || params.vendor ? 'production-key-exposed' : undefined, reason: params.reason },
  );
  const ex = await execute({
    session,
    journal,
    steps,
    env: stepEnv(session, journal),
    onStep: ctx.flags.json ? undefined : liveStep(ctx),
  });
  const result = revokeResult(ex.incident_id, ex.report);
  const missing = result.results.filter((r) => r.status === 'not-found').map((r) => r.vault_key_id);
  if (ctx.flags.json)
    ctx.out.json({
      ...result,
      journal: { saved: !ex.journal_problem, problem: ex.journal_problem ?? null },
      error: ex.report.error,
    });
  else if (result.results.length) ctx.out.data(result.results.map(resultLine).join('\n'));
  else if (ex.status === 'done') ctx.out.info('no active vault keys matched');
  return closeRun(ctx, 'revoke', ex, { missing: missing.map((id) => `vault key ${id}`) });
}

function resultLine(r: RevokeResult['results'][number]): string {
  const instances = r.instances.map(
    (i) => `${i.instance_id}:${i.refused ? `refused in ${i.ms}ms` : `NOT PROVEN (${i.code})`}`,
  );
  return `${r.vault_key_id}\t${r.status}\t${instances.join(' ')}`;
}
