import { HttpClient, timeoutsWithin } from '../http.js';
import type { Settings } from '../config.js';
import { readAdminToken, timeoutMs, type ProxyDeps } from '../../adapters/proxy/index.js';

/**
 * A client for the parts of our proxy's admin API that the adapter interface does not cover
 * (live rates, the audit summary). Only for proxy_kind tourniquet; undefined otherwise.
 */
export async function adminClient(settings: Settings, deps: ProxyDeps): Promise<HttpClient | undefined> {
  if ((settings.get('proxy_kind') ?? 'tourniquet') !== 'tourniquet') return undefined;
  const url = settings.get('proxy_url');
  if (!url) return undefined;
  const token = await readAdminToken(settings, deps, true);
  return new HttpClient({
    baseUrl: url,
    name: 'the proxy admin API',
    headers: { authorization: `Bearer ${token}` },
    trace: deps.trace,
    timeouts: timeoutsWithin(timeoutMs(settings)),
  });
}
