import type { DemoStage } from './stage.js';
import { cancelled } from '../errors.js';
import { startRefundAgent } from '../../demo/refund-agent.js';
import { checkConsumer } from '../../demo/consumers.js';
import { DEMO_IN_FLIGHT, pathResult, type PathResult } from './measure.js';

/**
 * Path A of seed 002: the agent holds a vault key and calls through our proxy. `act` is the
 * incident itself (guided at a terminal, automatic otherwise); it calls `beforeRevoke` right
 * before the revoke, and the figures are measured from that moment.
 */
export interface PathAOptions {
  intervalMs: number;
  runawayMs: number;
  signal: AbortSignal;
  onEvent: (e: { at: 'runaway' | 'paged' | 'stopped' | 'consumers' }) => void;
}

/** What leaked, from the incident's own damage summary (so the table and the summary agree). */
export type LeakedOf<T> = (incident: T) => number | null;

export interface PathAOutcome<T> extends PathResult {
  incident: T;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function runPathA<T>(
  stage: DemoStage,
  o: PathAOptions,
  act: (hooks: { beforeRevoke: () => void; runawayStartedAt: number }) => Promise<T>,
  leakedOf: LeakedOf<T>,
): Promise<PathAOutcome<T>> {
  const runawayStartedAt = Date.now();
  const agent = startRefundAgent({
    key: stage.agentKey.secret,
    baseUrl: stage.proxy.dataUrl,
    intervalMs: o.intervalMs,
    targets: stage.targets,
    maxInFlight: DEMO_IN_FLIGHT,
  });
  try {
    o.onEvent({ at: 'runaway' });
    await sleep(o.runawayMs, o.signal);
    if (o.signal.aborted) throw cancelled();
    o.onEvent({ at: 'paged' });
    let since: number | null = null;
    const incident = await act({ beforeRevoke: () => (since = performance.now()), runawayStartedAt });
    if (since === null) throw new Error('the incident ended without revoking');
    const first = await agent.firstRefusalAfter(since, 5000, o.signal);
    o.onEvent({ at: 'stopped' });
    await agent.stop();
    const checks = await Promise.all(stage.consumers.map((c) => checkConsumer(c, stage.targets[0]!.charge)));
    o.onEvent({ at: 'consumers' });
    return {
      ...pathResult({ calls: agent.calls, since, firstRefusal: first, consumers: checks, scale: 1 }),
      leaked_calls: leakedOf(incident),
      incident,
    };
  } finally {
    await agent.stop();
  }
}
