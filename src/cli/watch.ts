import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { settingsFor } from './settings.js';
import { EXIT_CODES, usageError } from '../core/errors.js';
import { noProxyUrl } from '../core/first-run.js';
import { parseDuration } from '../core/rate.js';
import { adminClient } from '../core/incident/admin.js';
import { AlertState, alertText, sample, type Sample } from '../core/watch.js';
import { postWebhook } from '../core/postmortem-notify.js';
import { renderSample, sampleLine } from '../render/watch.js';
import { TrendHistory } from '../render/sparkline-live.js';
import { scalarText } from '../core/json.js';

/**
 * `watch`: calls/min per vault key against its own baseline. A live table at a terminal, one
 * JSON line per interval otherwise, `--once` for cron (exit 7 on an anomaly), `--notify` posts
 * an alert to the profile's webhook_url when a key crosses the threshold.
 */
interface WatchOptions {
  once: boolean;
  threshold: number;
  intervalMs: number;
  count: number;
  notify: boolean;
}

function options(opts: Record<string, unknown>): WatchOptions {
  const threshold = Number(opts.threshold ?? 5);
  if (!(threshold > 0)) throw usageError('--threshold takes a multiple of the baseline above zero, e.g. 5');
  const intervalMs = parseDuration(scalarText(opts.interval) ?? '10s', '--interval');
  if (!(intervalMs >= 200)) throw usageError('--interval must be at least 200ms');
  const count = opts.count === undefined ? Infinity : Number(opts.count);
  if (!(count >= 1)) throw usageError('--count takes a whole number of samples, at least 1');
  return {
    once: opts.once === true,
    threshold,
    intervalMs,
    count: opts.once === true ? 1 : count,
    notify: opts.notify === true,
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

async function alert(ctx: Ctx, url: string | undefined, s: Sample): Promise<void> {
  if (!url || s.new_anomalies.length === 0) return;
  try {
    await postWebhook(url, alertText(s.new_anomalies, s.threshold));
    ctx.out.info(ctx.out.errPaint.dim(`alert posted for ${s.new_anomalies.map((k) => k.vault_key_id).join(', ')}`));
  } catch (err) {
    ctx.out.warn(`the alert was not posted: ${(err as Error).message}`);
  }
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = options(opts);
  const settings = settingsFor(ctx);
  const admin = await adminClient(settings, {
    io: { env: ctx.io.env, stdin: ctx.io.stdin },
    trace: ctx.trace,
    register: (s) => ctx.secrets.add(s),
  });
  if (!admin) throw noProxyUrl('watch reads live rates from our proxy (proxy_kind tourniquet, proxy_url set)');
  const webhook = o.notify ? settings.get('webhook_url') : undefined;
  if (o.notify && !webhook)
    throw usageError(
      '--notify needs a webhook',
      'set TOURNIQUET_WEBHOOK_URL, or: tourniquet config set webhook_url URL',
    );
  if (webhook) ctx.secrets.add(webhook);
  const live = !o.once && !ctx.flags.json && ctx.io.stdout.isTTY === true;
  const alerts = new AlertState();
  const trend = new TrendHistory();
  let anomalous = false;
  for (let i = 0; i < o.count && !ctx.signal.aborted; i++) {
    if (i > 0) await sleep(o.intervalMs, ctx.signal);
    if (ctx.signal.aborted) break;
    const s = await sample(admin, o.threshold, alerts);
    anomalous ||= s.anomalies.length > 0;
    if (o.once) {
      if (ctx.flags.json) ctx.out.json(s);
      else ctx.out.data(renderSample(s, ctx.out.paint));
    } else if (live) {
      for (const k of s.keys) trend.add(k.vault_key_id, k.calls_per_minute);
      ctx.io.stdout.write(
        ctx.secrets.scrub(
          '\u001b[H\u001b[2J' +
            renderSample(s, ctx.out.paint, trend) +
            ctx.out.paint.dim(`every ${o.intervalMs / 1000}s · Ctrl-C to stop`) +
            '\n',
        ),
      );
    } else ctx.out.data(sampleLine(s));
    await alert(ctx, webhook, s);
  }
  // Ctrl-C is how a running watch ends: the operator cancelled it (130), as for every command.
  if (ctx.signal.aborted) {
    ctx.out.info('watch: stopped (Ctrl-C)');
    return EXIT_CODES.cancelled;
  }
  return o.once && anomalous ? EXIT_CODES.check : 0;
}
