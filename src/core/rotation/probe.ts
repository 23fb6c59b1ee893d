import { HttpClient } from '../http.js';
import type { ProxyAdapter } from '../../adapters/proxy/types.js';

/**
 * The witness of a zero-downtime rotation: an agent of our own calling through the proxy the
 * whole time the production key is replaced. A throwaway vault key (not pinned, so it follows
 * the vendor's active key exactly as every agent does; allowed only the harmless read), one
 * call per interval, round-robin over every proxy instance. Every call that does not answer
 * 2xx is a failure: a rotation is proven zero-downtime only by zero of them.
 */
export interface ProbeStats {
  vault_key_id: string;
  path: string;
  interval_ms: number;
  calls: number;
  failed: number;
  /** Status → count over the failed calls (0: no answer). */
  failures: Record<string, number>;
  first_failure_at: string | null;
  started_at: string;
  stopped_at: string | null;
}

export interface RotationProbe {
  readonly stats: ProbeStats;
  /** One call now, besides the loop's: the rotation calls it after every step, so each transition is crossed by a call. */
  callNow(): void;
  stop(): Promise<ProbeStats>;
}

export interface ProbeInput {
  proxy: ProxyAdapter;
  vendor: string;
  probePath: string;
  intervalMs: number;
  register: (secret: string) => void;
  trace?: (line: string) => void;
}

/** Every answer is an answer to count, never an exception. */
const NOT_2XX = Array.from({ length: 400 }, (_, n) => 100 + n).filter((s) => s < 200 || s >= 300);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export async function startRotationProbe(i: ProbeInput): Promise<RotationProbe> {
  const urls = (await i.proxy.instances()).map((x) => x.data_plane_url).filter(Boolean);
  if (!urls.length) throw new Error('the proxy reports no data plane URL to call through');
  const [path, search] = i.probePath.split('?');
  const key = await i.proxy.issueVaultKey({
    vendor: i.vendor,
    expires_in: '2h',
    allowed_endpoints: [`GET ${path}`],
    labels: { agent: 'tourniquet-rotation-probe' },
  });
  i.register(key.secret);
  const clients = urls.map(
    (u) =>
      new HttpClient({
        baseUrl: u,
        name: 'the proxy data plane',
        headers: { authorization: `Bearer ${key.secret}` },
        retries: 0,
        trace: i.trace,
        timeouts: { connectMs: 2000, headersMs: 10_000 },
      }),
  );
  const stats: ProbeStats = {
    vault_key_id: key.id,
    path: i.probePath,
    interval_ms: i.intervalMs,
    calls: 0,
    failed: 0,
    failures: {},
    first_failure_at: null,
    started_at: new Date().toISOString(),
    stopped_at: null,
  };
  const stop = new AbortController();
  const query = Object.fromEntries(new URLSearchParams(search ?? ''));
  let n = 0;
  const extra = new Set<Promise<void>>();
  const call = async () => {
    let status: number;
    try {
      status = (
        await clients[n++ % clients.length]!.request({
          method: 'GET',
          path: `/${i.vendor}${path}`,
          query,
          accept: NOT_2XX,
        })
      ).status;
    } catch {
      status = 0;
    }
    stats.calls++;
    if (status < 200 || status >= 300) {
      stats.failed++;
      stats.failures[String(status)] = (stats.failures[String(status)] ?? 0) + 1;
      stats.first_failure_at ??= new Date().toISOString();
    }
  };
  const loop = (async () => {
    while (!stop.signal.aborted) {
      const t0 = performance.now();
      await call();
      await sleep(i.intervalMs - (performance.now() - t0), stop.signal);
    }
  })();
  return {
    stats,
    callNow() {
      if (stop.signal.aborted) return;
      const p = call().finally(() => extra.delete(p));
      extra.add(p);
    },
    async stop() {
      stop.abort();
      await Promise.all([loop, ...extra]);
      stats.stopped_at = new Date().toISOString();
      await i.proxy.revokeVaultKey(key.id, { hard: false, reason: 'rotation probe done' }).catch(() => undefined);
      return stats;
    },
  };
}
