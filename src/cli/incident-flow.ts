import type { Settings } from '../core/config.js';
import type { Ctx } from './context.js';
import { catalogFor, settingsFor } from './settings.js';
import { TourniquetError, usageError } from '../core/errors.js';
import { openSession, startIncident, stepEnv, type Session } from '../core/actions/session.js';
import { revokeSteps } from '../core/actions/revoke.js';
import { dryRun } from '../core/steps/engine.js';
import { renderDryRun } from '../render/steps.js';
import { decide, type Plan } from '../core/decide.js';
import { parseRate, parseDuration } from '../core/rate.js';
import type { Journal } from '../core/journal.js';
import type { Catalog } from '../core/playbooks.js';
import { adminClient } from '../core/incident/admin.js';
import { proxyOverview } from '../core/incident/overview.js';
import { DEFAULT_THRESHOLD, fetchRates, toKeyRate, type KeyRate } from '../core/incident/rates.js';
import type { ProxyAdapter, VaultKeySummary } from '../adapters/proxy/types.js';
import type { HttpClient } from '../core/http.js';
import { damageAfter, nextMoves, recordDecision, revokeChosen } from '../core/incident/act.js';
import type { RevokeResult } from '../core/actions/revoke.js';
import type { DamageSummary } from '../core/damage/types.js';
import { closeRun, liveStep, sessionInput } from '../render/steps-output.js';
import { agentChoice, headerLine, healthLine, leakSentence, nextMovesText } from '../render/incident.js';
import { renderDamageText } from '../render/damage.js';
import { wrapFor } from '../render/format.js';
import { inertLines } from '../core/inert.js';
import { scalarText } from '../core/json.js';

/**
 * The 02:14 path: `tourniquet` at a terminal. Something on screen at once, two questions
 * (what is happening, which agent), the plan with its leak comparison, one confirmation, the
 * revoke verified on every instance, the damage, and the next moves. Every question has a flag.
 */
export interface IncidentAnswers {
  scenario?: string;
  vaultKey?: string;
  hard?: boolean;
  /** Skip the confirmation (the demo's --auto; scripts use the global --yes). */
  yes?: boolean;
  sinceMs: number;
  threshold: number;
  verifyTimeoutMs: number;
}

export interface IncidentHooks {
  /** Called right before the revoke call: the demo measures from here. */
  beforeRevoke?: () => void;
  /** Start of the damage window (epoch ms); default now minus --since. */
  damageFromMs?: number;
  /** Settings already loaded (and the header already printed) by the caller. */
  settings?: Settings;
  /** Live rates from elsewhere than GET /v1/rates (the demo measures them on its own clock). */
  rates?: (threshold: number) => Promise<KeyRate[]>;
}

export interface IncidentReport {
  incident_id: string;
  scenario: string;
  vault_key_id: string | null;
  plan: Plan | null;
  revoke: RevokeResult | null;
  damage: DamageSummary | null;
  next: string[];
  status: string;
  revoked_at_perf: number | null;
  exit_code: number;
}

/** Proxies without live rates (LiteLLM, in-house): the active keys, unranked. */
async function keysWithoutRates(proxy: ProxyAdapter): Promise<KeyRate[]> {
  const keys = await proxy.listVaultKeys({ status: 'active' });
  return keys.map((k) =>
    toKeyRate(
      {
        vault_key_id: k.id,
        vendor: k.vendor,
        agent: (k.policy.labels as Record<string, string> | undefined)?.agent,
        agent_run_id: k.agent_run_id,
        status: k.status,
      },
      Infinity,
    ),
  );
}

async function askScenario(ctx: Ctx, catalog: Catalog): Promise<string> {
  const choices = [...catalog.playbooks.values()].map((pb) => ({
    name: pb.title,
    value: pb.id,
    description: pb.summary,
  }));
  return ctx.prompt.select({
    message: 'What is happening?',
    flag: '--scenario',
    what: 'scenario',
    choices,
    default: choices[0]?.value,
  });
}

async function askAgent(ctx: Ctx, rates: KeyRate[]): Promise<string> {
  if (!rates.length)
    throw new TourniquetError('not-found', 'the proxy has no active vault keys to revoke', {
      hint: 'check the profile points at the right proxy (tourniquet config list)',
    });
  const p = ctx.out.errPaint;
  return ctx.prompt.search({
    message: 'Which agent? (anomalous first; type to filter)',
    flag: '--vault-key',
    what: 'vault key id',
    choices: rates.map((r) => ({
      name: agentChoice(r, p),
      value: r.vault_key_id,
      short: `${r.agent ?? r.agent_run_id ?? r.vault_key_id} (${r.vault_key_id})`,
    })),
  });
}

function handOff(ctx: Ctx, journal: Journal, scenario: string): IncidentReport {
  const cmd = `tourniquet run --scenario ${scenario}`;
  ctx.out.info(
    `This scenario's first move is not a vault-key revoke. See the plan with ${ctx.out.errPaint.bold(`tourniquet decide --scenario ${scenario}`)} and run it with ${ctx.out.errPaint.bold(cmd)}.`,
  );
  journal.append('finished', { status: 'handed-off', next: cmd });
  return {
    incident_id: journal.id,
    scenario,
    vault_key_id: null,
    plan: null,
    revoke: null,
    damage: null,
    next: [cmd],
    status: 'handed-off',
    revoked_at_perf: null,
    exit_code: 0,
  };
}

function dryRunReport(
  ctx: Ctx,
  d: { session: Session; journal: Journal; plan: Plan; id: string; hard: boolean; verifyTimeoutMs: number },
): Promise<IncidentReport> {
  return d.session.proxy().then((proxy) => {
    const planned = dryRun(
      revokeSteps({ ids: [d.id], hard: d.hard, verifyTimeoutMs: d.verifyTimeoutMs }, { proxy }),
      stepEnv(d.session),
    );
    if (!ctx.flags.json) ctx.out.info(renderDryRun(planned, ctx.out.errPaint));
    d.journal.append('finished', { status: 'dry-run' });
    return {
      incident_id: d.journal.id,
      scenario: d.plan.scenario,
      vault_key_id: d.id,
      plan: d.plan,
      revoke: null,
      damage: null,
      next: planned.steps.flatMap((s) => s.calls),
      status: 'dry-run',
      revoked_at_perf: null,
      exit_code: 0,
    };
  });
}

interface Chosen {
  id: string;
  rate: KeyRate | undefined;
  key: VaultKeySummary | undefined;
  vendor: string;
}

/** "Which agent?": from the flag, or the searchable list (live rates where the proxy has them). */
async function chooseKey(
  ctx: Ctx,
  proxy: ProxyAdapter,
  admin: HttpClient | undefined,
  a: IncidentAnswers,
  hooks: IncidentHooks,
): Promise<Chosen> {
  const rates = hooks.rates
    ? await hooks.rates(a.threshold)
    : admin
      ? await fetchRates(admin, a.threshold)
      : await keysWithoutRates(proxy);
  const id = a.vaultKey ?? (await askAgent(ctx, rates));
  const rate = rates.find((r) => r.vault_key_id === id);
  const key = rate ? undefined : await proxy.getVaultKey(id);
  if (!rate && !key)
    throw new TourniquetError('not-found', `no vault key ${id} at the proxy`, {
      hint: 'list them with: tourniquet watch --once',
    });
  return { id, rate, key, vendor: rate?.vendor ?? key!.vendor };
}

/** The damage comes after the action: a failure to read it is said, and never changes how the revoke went. */
async function damageOrWarn(ctx: Ctx, read: () => Promise<DamageSummary>): Promise<DamageSummary | null> {
  try {
    return await read();
  } catch (err) {
    ctx.out.warn(
      `no damage summary: ${inertLines((err as Error).message)}; later, run: tourniquet damage --source proxy`,
    );
    return null;
  }
}

export async function guidedIncident(ctx: Ctx, a: IncidentAnswers, hooks: IncidentHooks = {}): Promise<IncidentReport> {
  const p = ctx.out.errPaint;
  const settings = hooks.settings ?? settingsFor(ctx);
  if (!hooks.settings)
    ctx.out.info(
      headerLine(settings.profile, settings.get('proxy_url'), settings.get('proxy_kind') ?? 'tourniquet', p),
    );
  const session = openSession(sessionInput(ctx));
  const proxy = await session.proxy();
  const admin = await adminClient(settings, {
    io: { env: ctx.io.env, stdin: ctx.io.stdin },
    trace: ctx.trace,
    register: (s) => ctx.secrets.add(s),
  });
  const [overview, catalog] = await Promise.all([proxyOverview(proxy), catalogFor(ctx)]);
  ctx.out.info(healthLine(overview, p));
  // The journal opens once the operator has said what is happening (the postmortem reads it from
  // there); a cancel before that leaves nothing to record, since nothing has been done.
  const scenario = a.scenario ?? (await askScenario(ctx, catalog));
  const pb = catalog.playbooks.get(scenario);
  if (!pb)
    throw usageError(
      `unknown scenario "${scenario}"`,
      `one of: ${[...catalog.playbooks.keys()].join(', ')} (tourniquet scenarios)`,
    );
  const journal = startIncident(
    session,
    'incident',
    { scenario, vault_key: a.vaultKey, hard: a.hard === true },
    { scenario },
  );
  try {
    if (pb.steps[0]?.kind !== 'revoke-vault-key') return handOff(ctx, journal, scenario);
    const { id, rate, key, vendor } = await chooseKey(ctx, proxy, admin, a, hooks);
    const ratePerS = rate && rate.calls_per_minute > 0 ? rate.calls_per_minute / 60 : parseRate('1/400ms');
    const decided = decide(catalog, { scenario, facts: { vendor, vault_key: id }, proxy: true, ratePerS });
    if (decided.status !== 'plan')
      throw usageError(
        `the ${scenario} plan needs ${decided.missing.join(', ')}`,
        `run: tourniquet run --scenario ${scenario}`,
      );
    const plan = decided.plan;
    ctx.out.info(
      wrapFor(
        ctx.io.stderr,
        `\n${p.bold('Plan')}  ${p.bold(p.cyan('REVOKE'))} ${id}${rate?.agent ? ` (${rate.agent})` : ''}\n${p.bold('Why')}   ${plan.steps[0]?.reason ?? plan.reason}`,
        '      ',
      ),
    );
    if (plan.leak_estimate) ctx.out.info(wrapFor(ctx.io.stderr, leakSentence(plan.leak_estimate, ratePerS)));
    recordDecision(journal, plan, id, {
      rate_per_minute: rate?.calls_per_minute ?? null,
      baseline_per_minute: rate?.baseline_per_minute ?? null,
    });
    if (ctx.flags.dryRun)
      return dryRunReport(ctx, {
        session,
        journal,
        plan,
        id,
        hard: a.hard === true,
        verifyTimeoutMs: a.verifyTimeoutMs,
      });
    if (!a.yes)
      await ctx.prompt.confirm(`Revoke ${id} now? The agent is refused on its next request; nothing else changes.`);
    const out = await revokeChosen({
      session,
      journal,
      plan,
      vaultKeyId: id,
      hard: a.hard === true,
      verifyTimeoutMs: a.verifyTimeoutMs,
      onStep: ctx.flags.json ? undefined : liveStep(ctx),
      beforeRevoke: hooks.beforeRevoke,
    });
    const code = closeRun(ctx, 'incident', out.execution);
    const damage = admin
      ? await damageOrWarn(ctx, () =>
          damageAfter(admin, id, hooks.damageFromMs ?? Date.now() - a.sinceMs, out.effective_at),
        )
      : null;
    const refused = damage?.after_revoke ? damage.after_revoke.later - damage.after_revoke.later_allowed : 0;
    const next = nextMoves({
      incidentId: journal.id,
      vaultKeyId: id,
      agentRunId: rate?.agent_run_id ?? key?.agent_run_id ?? null,
      vendor,
      refusedSinceRevoke: refused,
    });
    return {
      incident_id: journal.id,
      scenario,
      vault_key_id: id,
      plan,
      revoke: out.revoke,
      damage,
      next,
      status: out.execution.status,
      revoked_at_perf: out.revokedAtPerf,
      exit_code: code,
    };
  } catch (err) {
    const cancel = err instanceof TourniquetError && err.kind === 'cancelled';
    journal.append('finished', {
      status: cancel ? 'cancelled' : 'failed',
      error: cancel ? undefined : (err as Error).message,
    });
    throw err;
  }
}

export function answersFrom(opts: Record<string, unknown>): IncidentAnswers {
  const threshold = Number(opts.threshold ?? DEFAULT_THRESHOLD);
  const verify = Number(opts.verifyTimeout ?? 5000);
  if (!(threshold > 0)) throw usageError('--threshold takes a multiple of the baseline above zero, e.g. 5');
  if (!(verify >= 0)) throw usageError('--verify-timeout takes milliseconds');
  return {
    scenario: opts.scenario as string | undefined,
    vaultKey: opts.vaultKey as string | undefined,
    hard: opts.hard === true,
    sinceMs: parseDuration(scalarText(opts.since) ?? '30m', '--since'),
    threshold,
    verifyTimeoutMs: verify,
  };
}

export function printReport(ctx: Ctx, r: IncidentReport): void {
  if (ctx.flags.json) {
    const { revoked_at_perf: _, ...rest } = r;
    ctx.out.json(rest);
    return;
  }
  if (r.damage)
    ctx.out.data(
      renderDamageText(r.damage, { tz: ctx.io.env.TZ, paint: ctx.out.paint, tty: ctx.io.stdout.isTTY === true }),
    );
  if (r.vault_key_id) ctx.out.data(nextMovesText(r.next, ctx.out.paint, ctx.io.stdout));
}
