import type { CommandInput } from './registry.js';
import { createContext, type Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { usageError } from '../core/errors.js';
import { HttpClient } from '../core/http.js';
import { Journal } from '../core/journal.js';
import { startStage, type DemoStage, type DemoStore } from '../core/demo/stage.js';
import { runPathA } from '../core/demo/path-a.js';
import { runPathB } from '../core/demo/path-b.js';
import { keepAuditRows, ratesOnDemoClock } from '../core/demo/clock.js';
import type { TailMode } from '../sandbox/index.js';
import { guidedIncident, type IncidentReport } from './incident-flow.js';
import { demoJson, renderComparison } from '../render/demo.js';
import { renderDamageText } from '../render/damage.js';
import { multipleText, nextMovesText } from '../render/incident.js';
import { fmtMs } from '../render/steps.js';
import { wrapFor } from '../render/format.js';
import { scalarText } from '../core/json.js';

/**
 * `tourniquet demo`: seed 002's 02:14 story on loopback, no setup. Path A: the refund agent
 * holds a vault key and the incident revokes it at the proxy (guided at a terminal, narrated
 * with --auto or without one). Path B: the same agent on the production key, deleted at the
 * vendor, with its propagation tail. Then the two side by side, every figure measured, at real
 * scale (the story runs 1/time-scale faster than real time). The incident is kept: its journal
 * and audit rows stay in the state directory, so `tourniquet postmortem` works afterwards.
 */
const TAIL_MODES: TailMode[] = ['sampled', 'median', 'p95'];
const STORES: DemoStore[] = ['auto', 'sqlite', 'memory'];
/** Seed 002's agent: one refund every 400 ms, 150 a minute. */
const REAL_INTERVAL_MS = 400;

interface DemoOptions {
  guided: boolean;
  timeScale: number;
  tailMode: TailMode;
  runawayMs: number;
  store: DemoStore;
}

function options(opts: Record<string, unknown>, ctx: Ctx): DemoOptions {
  const timeScale = Number(opts.timeScale ?? 0.05);
  if (!(timeScale > 0 && timeScale <= 1))
    throw usageError('--time-scale takes a number above 0 and at most 1, e.g. 0.05');
  const tailMode = (scalarText(opts.tailMode) ?? 'sampled') as TailMode;
  if (!TAIL_MODES.includes(tailMode)) throw usageError(`--tail-mode is one of ${TAIL_MODES.join(', ')}`);
  // By default the agent runs away for one minute at real scale before the page.
  const runawayMs = opts.runawayMs === undefined ? 60_000 * timeScale : Number(opts.runawayMs);
  if (!(runawayMs >= 200 && runawayMs <= 60_000)) throw usageError('--runaway-ms takes 200 to 60000');
  const store = (scalarText(opts.store) ?? 'auto') as DemoStore;
  if (!STORES.includes(store)) throw usageError(`--store is one of ${STORES.join(', ')}`);
  return { guided: ctx.interactive && opts.auto !== true && !ctx.flags.json, timeScale, tailMode, runawayMs, store };
}

/** A context for the incident against the demo's own proxy: its URL and token, no profile; the journal in the operator's state directory. */
function stageCtx(ctx: Ctx, stage: DemoStage, guided: boolean, stateDir: string): Ctx {
  const env: Record<string, string | undefined> = { ...ctx.io.env, ...stage.env, TOURNIQUET_STATE_DIR: stateDir };
  delete env.TOURNIQUET_PROFILE;
  delete env.TOURNIQUET_ADMIN_TOKEN_FILE;
  const io = { ...ctx.io, env };
  return createContext(
    io,
    {
      json: ctx.flags.json,
      yes: !guided || ctx.flags.yes,
      input: guided,
      color: ctx.flags.color,
      debug: ctx.flags.debug,
    },
    ctx.signal,
  );
}

const adminOf = (stage: DemoStage) =>
  new HttpClient({
    baseUrl: stage.proxy.adminUrl,
    name: 'the demo proxy',
    headers: { authorization: `Bearer ${stage.adminToken}` },
  });

async function incidentOnStage(
  ctx: Ctx,
  stage: DemoStage,
  o: DemoOptions,
  stateDir: string,
  hooks: { beforeRevoke: () => void; runawayStartedAt: number },
): Promise<IncidentReport> {
  const admin = adminOf(stage);
  // Measured once, when the page comes in: the auto answer, the picker and the plan's estimate all read this one.
  let measured: ReturnType<typeof ratesOnDemoClock> | undefined;
  const rates = (threshold: number) =>
    (measured ??= ratesOnDemoClock(admin, {
      timeScale: o.timeScale,
      runawayStartedAt: hooks.runawayStartedAt,
      threshold,
    }));
  let vaultKey: string | undefined;
  if (!o.guided) {
    const top = (await rates(5))[0]!;
    ctx.out.info(
      `${ctx.out.errPaint.dim('auto:')} What is happening? → agent stuck in a loop. Which agent? → ${top.agent} (${Math.round(top.calls_per_minute)}/min, ${multipleText(top)})`,
    );
    vaultKey = top.vault_key_id;
  }
  return guidedIncident(
    stageCtx(ctx, stage, o.guided, stateDir),
    {
      scenario: o.guided ? undefined : 'runaway-loop',
      vaultKey,
      yes: !o.guided,
      sinceMs: 30 * 60_000,
      threshold: 5,
      verifyTimeoutMs: 5000,
    },
    { beforeRevoke: hooks.beforeRevoke, rates },
  );
}

const leakedOf = (r: IncidentReport) => {
  const a = r.damage?.after_revoke;
  return a && a.in_flight !== null ? a.in_flight + a.later_allowed : null;
};

type Say = (s: string, indent?: string) => void;

function intro(say: Say, ctx: Ctx, stage: DemoStage, o: DemoOptions): void {
  const p = ctx.out.errPaint;
  say(
    p.dim(
      `sandbox Stripe ${stage.sandbox.urls.stripe} · proxy ${stage.proxy.dataUrl} (admin ${stage.proxy.adminUrl}) · store: ${stage.store.kind === 'sqlite' ? 'SQLite in a temp dir' : 'in memory'}`,
    ),
  );
  if (stage.store.note) say(p.dim(stage.store.note));
  say(
    p.dim(
      `The story runs ${Math.round(1 / o.timeScale)}x faster than real time (time scale ${o.timeScale}): the agent's 400ms take ${fmtMs(REAL_INTERVAL_MS * o.timeScale)} here and the vendor's tail is scaled the same. Figures are at real scale; the proxy is never scaled.`,
    ),
  );
  say(`\n${p.bold('Path A')}: the refund agent holds its own vault key and calls Stripe through the proxy.`);
}

/** Path A: the runaway, the incident (guided or automatic), its damage and next moves; the incident is kept. */
async function pathA(say: Say, ctx: Ctx, stage: DemoStage, o: DemoOptions, stateDir: string) {
  const p = ctx.out.errPaint;
  const a = await runPathA(
    stage,
    {
      intervalMs: REAL_INTERVAL_MS * o.timeScale,
      runawayMs: o.runawayMs,
      signal: ctx.signal,
      onEvent: (e) => {
        if (e.at === 'runaway')
          say(
            '02:14  the refund agent (official stripe SDK) fires POST /v1/refunds every 400ms; its baseline is 1 call a minute. PagerDuty goes off.',
          );
        if (e.at === 'paged' && o.guided)
          say(p.bold('\nYou are on call. Enter takes the suggested answer; the revoke itself needs a y.'));
      },
    },
    (hooks) => incidentOnStage(ctx, stage, o, stateDir, hooks),
    leakedOf,
  );
  const report = a.incident;
  const journal = Journal.open(stateDir, report.incident_id);
  const kept = await keepAuditRows(adminOf(stage), journal, stage.agentKey.id, Date.now() - 2 * 60 * 60_000);
  if (report.damage)
    say(
      '\n' +
        renderDamageText(report.damage, {
          tz: ctx.io.env.TZ,
          paint: p,
          tty: ctx.io.stderr.isTTY === true,
          top: 5,
        }).trimEnd(),
    );
  ctx.out.info(nextMovesText(report.next, p, ctx.io.stderr));
  say(p.dim(`The incident is kept for that: its journal and ${kept.rows} audit rows in ${journal.dir}`));
  return { a, report, kept: { journal: journal.file, audit: kept.file } };
}

async function pathB(say: Say, ctx: Ctx, stage: DemoStage, o: DemoOptions) {
  const p = ctx.out.errPaint;
  const tty = ctx.io.stderr.isTTY === true;
  say(
    `\n${p.bold('Path B')}: the same agent on the production key itself, and no proxy. The operator deletes the key at the vendor.`,
  );
  return runPathB(stage, {
    intervalMs: REAL_INTERVAL_MS * o.timeScale,
    runawayMs: o.runawayMs,
    timeScale: o.timeScale,
    maxWaitMs: 60_000,
    signal: ctx.signal,
    onEvent: (e) => {
      if (e.at === 'deleted')
        say(
          'key deleted at the vendor; its edge keeps honouring it for the propagation tail... the agent keeps refunding.',
        );
      if (e.at === 'tick' && tty)
        ctx.io.stderr.write(
          `\r  ${p.yellow(`refunds since the deletion: ${e.leaked}`)} ${p.dim(`(t+${fmtMs(e.elapsedMs! / o.timeScale)} at real scale)`)}   `,
        );
      if (e.at === 'stopped')
        say(`${tty ? '\n' : ''}the vendor refuses the key at last; so does everyone else who used it.`);
    },
  });
}

function incidentJson(report: IncidentReport, kept: { journal: string; audit: string }) {
  const estimate = report.plan?.leak_estimate ?? null;
  return {
    id: report.incident_id,
    status: report.status,
    verified: report.revoke?.verified ?? false,
    rate_per_minute: estimate ? Math.round(estimate.rate_per_s * 60) : null,
    leak_estimate: estimate,
    damage: report.damage,
    postmortem: `tourniquet postmortem ${report.incident_id}`,
    kept,
  };
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = options(opts, ctx);
  const say: Say = (s, indent = '') => ctx.out.info(wrapFor(ctx.io.stderr, s, indent));
  const stateDir = settingsFor(ctx).get('state_dir')!;
  say(
    ctx.out.errPaint.bold('tourniquet demo') +
      ctx.out.errPaint.dim(` · seed 002's 02:14 story on loopback · ${o.guided ? 'guided' : 'automatic'}`),
  );
  const stage = await startStage({ timeScale: o.timeScale, tailMode: o.tailMode, store: o.store });
  try {
    intro(say, ctx, stage, o);
    const { a, report, kept } = await pathA(say, ctx, stage, o, stateDir);
    const b = await pathB(say, ctx, stage, o);
    const view = { path_a: a, path_b: b, time_scale: o.timeScale, agent_interval_ms: REAL_INTERVAL_MS * o.timeScale };
    if (ctx.flags.json)
      ctx.out.json(
        demoJson(view, {
          mode: o.guided ? 'guided' : 'auto',
          tail_mode: o.tailMode,
          store: stage.store.kind,
          agent_rate_per_minute: 60_000 / REAL_INTERVAL_MS,
          incident: incidentJson(report, kept),
        }),
      );
    else ctx.out.data('\n' + renderComparison(view, ctx.out.paint, ctx.io.stdout));
    return report.exit_code;
  } finally {
    await stage.stop();
  }
}
