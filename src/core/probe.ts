import type { ProxyAdapter, ProxyInstance } from '../adapters/proxy/types.js';
import { TourniquetError } from './errors.js';
import { currentDeadline, sleepWithin } from './deadline.js';

/**
 * Verifying a revoke where it matters: every proxy instance is asked, from its own in-memory
 * state, whether it would serve the vault key now. We poll each instance until it refuses or
 * the deadline passes, and report how long after the revoke took effect it started refusing.
 * Only an explicit refusal counts: an instance that cannot be asked, answers the wrong shape, or
 * is not trusted with the admin token (never asked) is "not refused", with the reason as its code.
 */
export interface InstanceRefusal {
  instance_id: string;
  refused: boolean;
  /** Milliseconds from the revoke's response to the first refusal (or to giving up). */
  ms: number;
  code: string;
}

export interface RefusalOptions {
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
  /** performance.now() when the revoke call returned. */
  since: number;
}

async function askOnce(proxy: ProxyAdapter, id: string, inst: ProxyInstance) {
  try {
    return await proxy.probeVaultKey(id, inst);
  } catch (err) {
    // Our credentials refused is not a slow instance: stop, and say so (exit 3).
    if (err instanceof TourniquetError && err.kind === 'auth') throw err;
    return {
      instance_id: inst.instance_id,
      refused: false,
      code: `unreachable: ${(err as Error).message}`,
      final: false,
    };
  }
}

/** Leave the last asking this much before the command's deadline, so the answer we report is the instance's, not the deadline's. */
const DEADLINE_MARGIN_MS = 300;

async function untilRefused(
  proxy: ProxyAdapter,
  id: string,
  inst: ProxyInstance,
  o: RefusalOptions,
): Promise<InstanceRefusal> {
  const command = currentDeadline();
  const deadline = Math.min(
    o.since + o.timeoutMs,
    command ? performance.now() + command.remainingMs() - DEADLINE_MARGIN_MS : Infinity,
  );
  for (;;) {
    // An instance we cannot ask is not proof of anything: keep asking until the deadline.
    const p = await askOnce(proxy, id, inst);
    const ms = Math.round(performance.now() - o.since);
    if (p.refused) return { instance_id: inst.instance_id, refused: true, ms, code: p.code };
    if (p.final || performance.now() >= deadline || o.signal?.aborted || command?.expired)
      return { instance_id: inst.instance_id, refused: false, ms, code: p.code };
    await sleepWithin(Math.min(o.intervalMs ?? 20, Math.max(0, deadline - performance.now())), o.signal);
  }
}

export async function waitForRefusal(
  proxy: ProxyAdapter,
  id: string,
  instances: ProxyInstance[],
  o: RefusalOptions,
): Promise<InstanceRefusal[]> {
  return Promise.all(instances.map((inst) => untilRefused(proxy, id, inst, o)));
}
