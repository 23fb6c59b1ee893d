import { HttpClient } from '../http.js';
import type { ProxyAdapter } from '../../adapters/proxy/types.js';
import { fieldOf, scalarText } from '../json.js';

/**
 * The first screen of an incident: which profile, which proxy, and how many of its instances
 * answer on their data plane right now. An instance is healthy when a request without a key
 * comes back quickly with the proxy's own refusal (it is up and judging requests).
 */
export interface InstanceHealth {
  instance_id: string;
  data_plane_url: string;
  healthy: boolean;
  ms: number;
  /** Why it was not asked (its data plane is not trusted); it counts as not healthy. */
  untrusted?: string;
}

export interface Overview {
  instances: InstanceHealth[];
  healthy: number;
}

export async function instanceHealth(url: string, id: string, timeoutMs: number): Promise<InstanceHealth> {
  const started = performance.now();
  if (!url) return { instance_id: id, data_plane_url: url, healthy: false, ms: 0 };
  try {
    const client = new HttpClient({
      baseUrl: url,
      name: `proxy instance ${id}`,
      timeouts: { connectMs: timeoutMs, headersMs: timeoutMs, bodyMs: timeoutMs },
      retries: 0,
    });
    const res = await client.get('/v1/health-probe', { accept: [401, 403, 404] });
    const code = scalarText(fieldOf(fieldOf(res.body, 'error'), 'code')) ?? scalarText(fieldOf(res.body, 'code')) ?? '';
    return {
      instance_id: id,
      data_plane_url: url,
      healthy: res.status === 401 && code.startsWith('vault_key'),
      ms: Math.round(performance.now() - started),
    };
  } catch {
    return { instance_id: id, data_plane_url: url, healthy: false, ms: Math.round(performance.now() - started) };
  }
}

export async function proxyOverview(proxy: ProxyAdapter, timeoutMs = 1000): Promise<Overview> {
  const list = await proxy.instances();
  const instances = await Promise.all(
    list.map((i) =>
      i.data_plane_untrusted
        ? Promise.resolve({
            instance_id: i.instance_id,
            data_plane_url: i.data_plane_url,
            healthy: false,
            ms: 0,
            untrusted: i.data_plane_untrusted,
          })
        : instanceHealth(i.data_plane_url, i.instance_id, timeoutMs),
    ),
  );
  return { instances, healthy: instances.filter((i) => i.healthy).length };
}
