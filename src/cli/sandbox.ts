import type { CommandInput } from './registry.js';
import type { Ctx } from './context.js';
import { EXIT_CODES, usageError } from '../core/errors.js';
import { scalarText } from '../core/json.js';

/** `tourniquet sandbox`: loopback vendors for demos and drills; prints URLs and keys, runs until Ctrl-C. */
export async function run({ opts }: CommandInput, ctx: Ctx): Promise<number> {
  const timeScale = Number(opts.timeScale ?? 1);
  if (!Number.isFinite(timeScale) || timeScale < 0)
    throw usageError('--time-scale must be a number ≥ 0 (1 = real-world propagation tails)');
  const tailMode = scalarText(opts.tailMode) ?? 'sampled';
  if (!['sampled', 'median', 'p95', 'none'].includes(tailMode))
    throw usageError('--tail-mode must be sampled, median, p95 or none');
  const latencyMs = Number(opts.latencyMs ?? 0);
  const { startSandbox } = await import('../sandbox/index.js');
  const sandbox = await startSandbox({ timeScale, tailMode: tailMode as 'sampled', latencyMs });
  // These are sandbox keys, printed on purpose: they work nowhere but on these loopback servers.
  ctx.out.data(
    JSON.stringify(
      { urls: sandbox.urls, keys: sandbox.keys, time_scale: timeScale, tail_mode: tailMode },
      null,
      ctx.flags.json ? 0 : 2,
    ),
  );
  ctx.out.info('sandbox vendors running; Ctrl-C stops them');
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await sandbox.stop();
  // Ctrl-C is the operator's cancel (130, as the exit-code table says); SIGTERM is a supervisor's stop (0).
  const sig = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : '';
  ctx.out.info(sig === 'SIGINT' ? 'sandbox stopped (Ctrl-C)' : `sandbox stopped${sig ? ` (${sig})` : ''}`);
  return sig === 'SIGINT' ? EXIT_CODES.cancelled : 0;
}
