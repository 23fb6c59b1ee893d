import type { DemoStage } from './stage.js';
import { cancelled } from '../errors.js';
import { startRefundAgent } from '../../demo/refund-agent.js';
import { checkConsumer, CONSUMER_NAMES } from '../../demo/consumers.js';
import { DEMO_IN_FLIGHT, leakedAfter, pathResult, type PathResult } from './measure.js';

/**
 * Path B, the slow path of seed 002: no proxy; the agent and every other consumer hold the
 * production key itself, and the operator deletes it at the vendor. The sandbox vendor keeps
 * honouring it for a propagation tail drawn from seed 002's figures, scaled by the time scale.
 */
export interface PathBOptions {
  intervalMs: number;
  runawayMs: number;
  timeScale: number;
  /** Give up waiting for the vendor after this long (the tail is a random draw). */
  maxWaitMs: number;
  signal: AbortSignal;
  onEvent: (e: {
    at: 'runaway' | 'deleted' | 'tick' | 'stopped' | 'consumers';
    leaked?: number;
    elapsedMs?: number;
  }) => void;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function runPathB(stage: DemoStage, o: PathBOptions): Promise<PathResult & { tail_drawn_ms: number }> {
  const prod = stage.sandbox.stripe.createKey('path-b production key');
  const consumers = CONSUMER_NAMES.map((name) => ({ name, key: prod.secret, baseUrl: stage.sandbox.urls.stripe }));
  const agent = startRefundAgent({
    key: prod.secret,
    baseUrl: stage.sandbox.urls.stripe,
    intervalMs: o.intervalMs,
    targets: stage.targets,
    maxInFlight: DEMO_IN_FLIGHT,
  });
  try {
    o.onEvent({ at: 'runaway' });
    await sleep(o.runawayMs, o.signal);
    if (o.signal.aborted) throw cancelled();
    const since = performance.now();
    const deleted = stage.sandbox.stripe.deleteKey(prod.id)!;
    const tail = Date.parse(deleted.stops_working_at) - Date.parse(deleted.deleted_at);
    o.onEvent({ at: 'deleted' });
    // While the vendor's edge still honours the key: how many refunds went through, as it happens.
    const tick = setInterval(
      () => o.onEvent({ at: 'tick', leaked: leakedAfter(agent.calls, since), elapsedMs: performance.now() - since }),
      250,
    );
    const first = await agent.firstRefusalAfter(since, o.maxWaitMs, o.signal).finally(() => clearInterval(tick));
    if (o.signal.aborted) throw cancelled();
    o.onEvent({ at: 'stopped' });
    await agent.stop();
    const checks = await Promise.all(consumers.map((c) => checkConsumer(c, stage.targets[0]!.charge)));
    o.onEvent({ at: 'consumers' });
    return {
      ...pathResult({ calls: agent.calls, since, firstRefusal: first, consumers: checks, scale: o.timeScale }),
      tail_drawn_ms: tail,
    };
  } finally {
    await agent.stop();
  }
}
