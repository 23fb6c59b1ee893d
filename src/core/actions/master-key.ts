import type { Settings } from '../config.js';
import { usageError } from '../errors.js';
import { HttpClient } from '../http.js';
import { readAdminToken, type ProxyDeps } from '../../adapters/proxy/index.js';
import { fieldOf } from '../json.js';

/** What the proxy answers to `POST /v1/master-key/rotate`. */
export interface MasterKeyRotation {
  master_key_id: string;
  rewrapped: number;
  previous_master_key_ids: string[];
  by?: string;
}

/**
 * Ask the proxy to re-wrap every stored production key under the first key of its master key
 * source (it re-reads the source first). One admin call: no vendor call, no restart.
 */
export async function rotateMasterKey(settings: Settings, deps: ProxyDeps): Promise<MasterKeyRotation> {
  const url = settings.get('proxy_url');
  if (!url) throw usageError('no proxy URL', 'set TOURNIQUET_PROXY_URL or: tourniquet config set proxy_url URL');
  const token = (await readAdminToken(settings, deps, true))!;
  const http = new HttpClient({
    baseUrl: url,
    name: 'the proxy admin API',
    headers: { authorization: `Bearer ${token}` },
    trace: deps.trace,
    timeouts: { headersMs: 120_000 },
  });
  const res = await http.post<MasterKeyRotation>('/v1/master-key/rotate', {
    json: {},
    expect: (b) =>
      typeof fieldOf(b, 'master_key_id') === 'string' && typeof fieldOf(b, 'rewrapped') === 'number'
        ? undefined
        : 'no "master_key_id" and "rewrapped" in the response',
  });
  return res.body;
}
