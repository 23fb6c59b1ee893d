import type { ProxyAdapter, ProxyInstance } from '../adapters/proxy/types.js';

/**
 * Verifying a revoke where it matters: every proxy instance is asked, from its own in-memory
 * state, whether it would serve the vault key now. We poll each instance until it refuses or
 * the deadline passes, and report how long after the revoke took effect it started refusing.
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function untilRefused(proxy: ProxyAdapter, id: string, inst: ProxyInstance, o: RefusalOptions): Promise<InstanceRefusal> {
  const deadline = o.since + o.timeoutMs;
  let code = 'unknown';
  for (;;) {
    // An instance we cannot ask is not proof of anything: keep asking until the deadline.
    const p = await proxy.probeVaultKey(id, inst).catch((err: Error) => ({ instance_id: inst.instance_id, refused: false, code: `unreachable: ${err.message}` }));
    code = p.code;
    const ms = Math.round(performance.now() - o.since);
    if (p.refused) return { instance_id: p.instance_id, refused: true, ms, code };
    if (performance.now() >= deadline || o.signal?.aborted) return { instance_id: p.instance_id, refused: false, ms, code };
    await sleep(o.intervalMs ?? 20);
  }
}

export async function waitForRefusal(proxy: ProxyAdapter, id: string, instances: ProxyInstance[], o: RefusalOptions): Promise<InstanceRefusal[]> {
  return Promise.all(instances.map((inst) => untilRefused(proxy, id, inst, o)));
}
