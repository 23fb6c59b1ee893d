import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { EXIT_CODES, usageError } from '../core/errors.js';
import { parseDuration, parseRate } from '../core/rate.js';
import { openSession } from '../core/actions/session.js';
import { overThresholds, runDrill, type DrillOptions, type DrillThresholds } from '../core/drill.js';
import { startStage } from '../core/demo/stage.js';
import { createTourniquetProxy } from '../adapters/proxy/tourniquet.js';
import type { ProxyAdapter } from '../adapters/proxy/types.js';
import { sessionInput } from '../render/steps-output.js';
import { renderDrill } from '../render/doctor-drill.js';
import { scalarText } from '../core/json.js';

/** `drill`: a measured game day against the profile's proxy (staging) or the sandbox. Exit 7 over the thresholds. */
function options(opts: Record<string, unknown>, signal: AbortSignal): DrillOptions & DrillThresholds {
  const maxRefusalMs = Number(opts.maxRefusalMs ?? 1000);
  const maxLeaked = Number(opts.maxLeaked ?? 0);
  if (!(maxRefusalMs >= 0)) throw usageError('--max-refusal-ms takes milliseconds');
  if (!(maxLeaked >= 0) || !Number.isInteger(maxLeaked)) throw usageError('--max-leaked takes a whole number of calls');
  const warmupMs = parseDuration(scalarText(opts.warmup) ?? '1s', '--warmup');
  const observeMs = parseDuration(scalarText(opts.observe) ?? '1s', '--observe');
  if (warmupMs > 600_000 || observeMs > 600_000) throw usageError('--warmup and --observe are at most 10m');
  return {
    vendor: scalarText(opts.vendor) ?? 'stripe',
    ratePerS: parseRate(scalarText(opts.rate) ?? '50/s'),
    warmupMs,
    observeMs,
    signal,
    maxRefusalMs,
    maxLeaked,
  };
}

async function withProxy<T>(ctx: Ctx, sandbox: boolean, fn: (proxy: ProxyAdapter) => Promise<T>): Promise<T> {
  if (!sandbox) {
    const session = openSession(sessionInput(ctx));
    return fn(await session.proxy());
  }
  const stage = await startStage({ timeScale: 0.001, tailMode: 'median' });
  try {
    return await fn(createTourniquetProxy({ adminUrl: stage.proxy.adminUrl, adminToken: stage.adminToken }));
  } finally {
    await stage.stop();
  }
}

export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const o = options(opts, ctx.signal);
  const sandbox = opts.sandbox === true;
  if (ctx.flags.dryRun) {
    ctx.out.info(
      `dry run: would issue a throwaway ${o.vendor} vault key at ${sandbox ? 'the sandbox proxy' : "the profile's proxy"}, call GET /__tourniquet_drill/probe on every instance at ${o.ratePerS}/s for ${o.warmupMs} ms, revoke the key, and keep calling for ${o.observeMs} ms`,
    );
    return 0;
  }
  ctx.out.info(
    ctx.out.errPaint.dim(
      `drill against ${sandbox ? 'the loopback sandbox' : "the profile's proxy"}: synthetic calls at ${o.ratePerS}/s per instance; the proxy answers them itself, nothing reaches a vendor`,
    ),
  );
  const result = await withProxy(ctx, sandbox, (proxy) => {
    if (proxy.kind !== 'tourniquet')
      throw usageError(`drill needs our proxy's instances and refusal codes (proxy_kind is ${proxy.kind})`);
    return runDrill(proxy, o);
  });
  const problems = overThresholds(result, o);
  if (ctx.flags.json)
    ctx.out.json({
      ...result,
      thresholds: { max_refusal_ms: o.maxRefusalMs, max_leaked: o.maxLeaked },
      passed: problems.length === 0,
      problems,
    });
  else ctx.out.data(renderDrill(result, problems, ctx.out.paint));
  return problems.length ? EXIT_CODES.check : 0;
}
