import type { CommandInput } from './registry.js';
import { createContext, type Ctx } from './context.js';
import { usageError } from '../core/errors.js';
import { HttpClient } from '../core/http.js';
import { startStage, type DemoStage, type DemoStore } from '../core/demo/stage.js';
import { runPathA } from '../core/demo/path-a.js';
import { runPathB } from '../core/demo/path-b.js';
import { fetchRates } from '../core/incident/rates.js';
import type { TailMode } from '../sandbox/index.js';
import { guidedIncident, type IncidentReport } from './incident-flow.js';
import { demoJson, renderComparison } from '../render/demo.js';
import { renderDamageText } from '../render/damage.js';
import { multipleText, nextMovesText } from '../render/incident.js';
import { fmtMs } from '../render/steps.js';

/**
 * `tourniquet demo`: seed 002's 02:14 story on loopback, no setup. Path A: the refund agent
 * holds a vault key and the incident revokes it at the proxy (guided at a terminal, narrated
 * with --auto or without one). Path B: the same agent on the production key, deleted at the
 * vendor, with its propagation tail. Then the two side by side, every figure measured.
 */
const TAIL_MODES: TailMode[] = ['sampled', 'median', 'p95'];
const STORES: DemoStore[] = ['auto', 'sqlite', 'memory'];

interface DemoOptions {
  guided: boolean;
  timeScale: number;
  tailMode: TailMode;
  runawayMs: number;
  store: DemoStore;
}

function options(opts: Record<string, unknown>, ctx: Ctx): DemoOptions {
  const timeScale = Number(opts.timeScale ?? 0.05);
  if (!(timeScale > 0 && timeScale <= 1)) throw usageError('--time-scale takes a number above 0 and at most 1, e.g. 0.05');
  const tailMode = String(opts.tailMode ?? 'sampled') as TailMode;
  if (!TAIL_MODES.includes(tailMode)) throw usageError(`--tail-mode is one of ${TAIL_MODES.join(', ')}`);
  const runawayMs = Number(opts.runawayMs ?? 2000);
  if (!(runawayMs >= 200 && runawayMs <= 60_000)) throw usageError('--runaway-ms takes 200 to 60000');
  const store = String(opts.store ?? 'auto') as DemoStore;
  if (!STORES.includes(store)) throw usageError(`--store is one of ${STORES.join(', ')}`);
  return { guided: ctx.interactive && opts.auto !== true && !ctx.flags.json, timeScale, tailMode, runawayMs, store };
}

/** A context for the incident against the demo's own proxy: its URL, token and temp state dir, no profile. */
function stageCtx(ctx: Ctx, stage: DemoStage, guided: boolean): Ctx {
  const env: Record<string, string | undefined> = { ...ctx.io.env, ...stage.env };
  delete env.TOURNIQUET_PROFILE;
  delete env.TOURNIQUET_ADMIN_TOKEN_FILE;
  const io = { ...ctx.io, env };
  return createContext(io, { json: ctx.flags.json, yes: !guided || ctx.flags.yes, input: guided, color: ctx.flags.color, debug: ctx.flags.debug }, ctx.signal);
}

async function autoChoice(ctx: Ctx, stage: DemoStage): Promise<string> {
  const admin = new HttpClient({ baseUrl: stage.proxy.adminUrl, name: 'the demo proxy', headers: { authorization: `Bearer ${stage.adminToken}` } });
  const top = (await fetchRates(admin))[0]!;
  ctx.out.info(`${ctx.out.errPaint.dim('auto:')} What is happening? → agent stuck in a loop. Which agent? → ${top.agent} (${Math.round(top.calls_per_minute)}/min, ${multipleText(top)})`);
  return top.vault_key_id;
}

async function incidentOnStage(ctx: Ctx, stage: DemoStage, o: DemoOptions, hooks: { beforeRevoke: () => void }, startedAt: number): Promise<IncidentReport> {
  const sctx = stageCtx(ctx, stage, o.guided);
  const vaultKey = o.guided ? undefined : await autoChoice(ctx, stage);
  return guidedIncident(
    sctx,
    { scenario: o.guided ? undefined : 'runaway-loop', vaultKey, yes: !o.guided, sinceMs: 0, threshold: 5, verifyTimeoutMs: 5000 },
    { beforeRevoke: hooks.beforeRevoke, damageFromMs: startedAt },
  );
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = options(opts, ctx);
  const p = ctx.out.errPaint;
  const say = (s: string) => ctx.out.info(s);
  const interval = 400 * o.timeScale;
  const tty = ctx.io.stderr.isTTY === true;
  say(p.bold('tourniquet demo') + p.dim(` · seed 002's 02:14 story on loopback · time scale ${o.timeScale} · ${o.guided ? 'guided' : 'automatic'}`));
  const stage = await startStage({ timeScale: o.timeScale, tailMode: o.tailMode, store: o.store });
  try {
    say(p.dim(`sandbox Stripe ${stage.sandbox.urls.stripe} · proxy ${stage.proxy.dataUrl} (admin ${stage.proxy.adminUrl}) · store: ${stage.store.kind === 'sqlite' ? 'SQLite in a temp dir' : 'in memory'}`));
    if (stage.store.note) say(p.dim(stage.store.note));
    say(`\n${p.bold('Path A')}: the refund agent holds its own vault key and calls Stripe through the proxy.`);
    const startedAt = Date.now();
    const a = await runPathA(stage, { intervalMs: interval, runawayMs: o.runawayMs, signal: ctx.signal, onEvent: (e) => {
      if (e.at === 'runaway') say(`02:14  the refund agent (official stripe SDK) is firing POST /v1/refunds every ${fmtMs(interval)}, and PagerDuty goes off.`);
      if (e.at === 'paged') say(o.guided ? p.bold('\nYou are on call. Answer the questions (the defaults are right):') : '');
    } }, (hooks) => incidentOnStage(ctx, stage, o, hooks, startedAt));
    const report = a.incident;
    if (report.damage) say('\n' + renderDamageText(report.damage, { tz: ctx.io.env.TZ, paint: p, tty: ctx.io.stderr.isTTY === true, top: 5 }).trimEnd());
    say(nextMovesText(report.next, p));
    say(`\n${p.bold('Path B')}: the same agent on the production key itself, and no proxy. The operator deletes the key at the vendor.`);
    const b = await runPathB(stage, { intervalMs: interval, runawayMs: o.runawayMs, timeScale: o.timeScale, maxWaitMs: 60_000, signal: ctx.signal, onEvent: (e) => {
      if (e.at === 'deleted') say('key deleted at the vendor; its edge keeps honouring it for the propagation tail... the agent keeps refunding.');
      if (e.at === 'tick' && tty) ctx.io.stderr.write(`\r  ${p.yellow(`refunds since the deletion: ${e.leaked}`)} ${p.dim(`(t+${fmtMs(e.elapsedMs! / o.timeScale)} at real scale)`)}   `);
      if (e.at === 'stopped') say(`${tty ? '\n' : ''}the vendor refuses the key at last; so does everyone else who used it.`);
    } });
    const view = { path_a: a, path_b: b, time_scale: o.timeScale, agent_interval_ms: interval };
    if (ctx.flags.json) ctx.out.json(demoJson(view, { mode: o.guided ? 'guided' : 'auto', tail_mode: o.tailMode, store: stage.store.kind, incident: { id: report.incident_id, status: report.status, verified: report.revoke?.verified ?? false, damage: report.damage } }));
    else ctx.out.data('\n' + renderComparison(view, ctx.out.paint));
    return report.exit_code;
  } finally {
    await stage.stop();
  }
}
