import type { AgentCall } from '../../demo/refund-agent.js';
import type { ConsumerCheck } from '../../demo/consumers.js';

/**
 * The figures of one path, all taken from what happened in this run: the agent's own record
 * of its calls, and the other consumers' one call each once the agent was stopped.
 */
export interface PathResult {
  /** From the stop action (revoke call, key deletion) to the agent's first refused call. */
  time_to_stop_ms: number | null;
  /** The same, divided by the time scale where the vendor's tail was scaled (path B). */
  time_to_stop_real_ms: number | null;
  /**
   * Refunds that went through after the stop took effect: one definition for both paths. A: the
   * damage summary's calls in flight when the revoke landed (a soft revoke lets them finish) plus
   * any allowed after it, from the proxy's audit rows (null: the rows could not say). B: refunds
   * the vendor made after the key's deletion, from the agent's own record.
   */
  leaked_calls: number | null;
  other_consumers_broken: number;
  other_consumers: ConsumerCheck[];
  /** Refunds made before the stop action, during the runaway. */
  calls_before_stop: number;
  stopped: boolean;
}

/** The demo's agent keeps its clock rate with up to this many refunds in flight (both paths alike). */
export const DEMO_IN_FLIGHT = 32;

export function leakedAfter(calls: readonly AgentCall[], since: number): number {
  return calls.filter((c) => c.ok && c.ended >= since).length;
}

export function pathResult(input: {
  calls: readonly AgentCall[];
  since: number;
  firstRefusal: AgentCall | undefined;
  consumers: ConsumerCheck[];
  scale: number;
}): PathResult {
  const t = input.firstRefusal ? Math.round((input.firstRefusal.ended - input.since) * 10) / 10 : null;
  return {
    time_to_stop_ms: t,
    time_to_stop_real_ms: t === null ? null : Math.round(t / input.scale),
    leaked_calls: leakedAfter(input.calls, input.since),
    other_consumers_broken: input.consumers.filter((c) => !c.works).length,
    other_consumers: input.consumers,
    calls_before_stop: input.calls.filter((c) => c.ok && c.ended < input.since).length,
    stopped: input.firstRefusal !== undefined,
  };
}
