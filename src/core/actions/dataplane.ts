import { HttpClient } from '../http.js';
import { TourniquetError } from '../errors.js';
import type { IssuedKey, ProxyAdapter } from '../../adapters/proxy/types.js';

/**
 * A real proxied call, made the way an agent makes one: a short-lived vault key of our own
 * (labelled, expiring in minutes, revoked right after), one harmless read through the data
 * plane. Used to prove the proxy serves a vendor with a given production key.
 */
export interface ProxiedCall {
  status: number;
  vault_key_id: string;
  data_plane_url: string;
}

export interface ProbeCallInput {
  proxy: ProxyAdapter;
  vendor: string;
  /** The harmless read, e.g. `/v1/balance`. */
  probePath: string;
  /** Pin the temporary vault key to this production key (a standby one, to test it before promoting). */
  upstreamKeyId?: string;
  register?: (secret: string) => void;
  trace?: (line: string) => void;
}

const ANY_STATUS = [400, 401, 402, 403, 404, 409, 429, 500, 502, 503, 504];

export async function proxiedProbeCall(i: ProbeCallInput): Promise<ProxiedCall> {
  // The temporary key works with the new production key: only a trusted data plane gets it.
  const instance = (await i.proxy.instances()).find((x) => x.data_plane_url && !x.data_plane_untrusted);
  if (!instance)
    throw new TourniquetError('step-failed', 'the proxy reports no trusted data-plane URL to call through', {
      hint: "list the instances' hosts in trusted_instances",
    });
  const key: IssuedKey = await i.proxy.issueVaultKey({
    vendor: i.vendor,
    expires_in: '10m',
    calls_per_minute: 60,
    upstream_key_id: i.upstreamKeyId,
    labels: { agent: 'tourniquet-rotation-probe' },
  });
  i.register?.(key.secret);
  try {
    const client = new HttpClient({
      baseUrl: instance.data_plane_url,
      name: 'the proxy data plane',
      headers: { authorization: `Bearer ${key.secret}` },
      trace: i.trace,
      retries: 0,
    });
    const [path, search] = i.probePath.split('?');
    const res = await client.request({
      method: 'GET',
      path: `/${i.vendor}${path}`,
      query: Object.fromEntries(new URLSearchParams(search ?? '')),
      accept: ANY_STATUS,
    });
    return { status: res.status, vault_key_id: key.id, data_plane_url: instance.data_plane_url };
  } finally {
    await i.proxy.revokeVaultKey(key.id, { hard: false, reason: 'rotation probe done' }).catch(() => undefined);
  }
}
