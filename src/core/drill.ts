import { request, Agent } from 'undici';
import type { ProxyAdapter, ProxyInstance } from '../adapters/proxy/types.js';
import { TourniquetError } from './errors.js';

/**
 * A measured game day: issue a throwaway vault key, drive synthetic calls through every proxy
 * instance, revoke it, and measure per instance how long until it refused the key and how many
 * calls still got past the key check after the revoke returned. The synthetic calls ask for an
 * endpoint the throwaway key is not allowed, so the proxy answers them itself: nothing ever
 * reaches a vendor, in staging or in production.
 */
export interface DrillOptions {
  vendor: string;
  /** Synthetic calls per second, per instance. */
  ratePerS: number;
  /** How long the calls run before the revoke. */
  warmupMs: number;
  /** How long to keep calling after the revoke returned. */
  observeMs: number;
  signal?: AbortSignal;
}

export interface InstanceDrill {
  instance_id: string;
  data_plane_url: string;
  calls: number;
  /** From the revoke call's return to this instance's first `vault_key_revoked`; null if never. */
  time_to_refusal_ms: number | null;
  /** Calls started after the revoke returned that the instance still let past the key check. */
  leaked_calls: number;
  /** Calls started before the revoke returned and answered after it (in flight). */
  in_flight: number;
  errors: number;
}

export interface DrillResult {
  vault_key_id: string;
  vendor: string;
  revoke_call_ms: number;
  instances: InstanceDrill[];
  max_time_to_refusal_ms: number | null;
  leaked_calls: number;
  cleaned_up: boolean;
  /** Listed instances not drilled: their data plane is not trusted with the throwaway key (trust.ts). */
  untrusted: Array<{ instance_id: string; reason: string }>;
}

interface Probe {
  started: number;
  ended: number;
  code: string;
}

const DRILL_PATH = '/__tourniquet_drill';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

async function probe(dispatcher: Agent, url: string, secret: string): Promise<Probe> {
  const started = performance.now();
  try {
    const res = await request(`${url.replace(/\/$/, '')}${DRILL_PATH}/probe`, {
      dispatcher,
      headers: { authorization: `Bearer ${secret}` },
      headersTimeout: 5000,
      bodyTimeout: 5000,
    });
    const body = (await res.body.json().catch(() => ({}))) as { error?: { code?: string } };
    return { started, ended: performance.now(), code: body.error?.code ?? `http_${res.statusCode}` };
  } catch {
    return { started, ended: performance.now(), code: 'network_error' };
  }
}

function loop(
  dispatcher: Agent,
  inst: ProxyInstance,
  secret: string,
  gapMs: number,
  stop: () => boolean,
): Promise<Probe[]> {
  return (async () => {
    const out: Probe[] = [];
    while (!stop()) {
      const p = await probe(dispatcher, inst.data_plane_url, secret);
      out.push(p);
      await sleep(gapMs - (p.ended - p.started));
    }
    return out;
  })();
}

export function measureInstance(inst: ProxyInstance, probes: Probe[], revokedAt: number): InstanceDrill {
  const after = probes.filter((p) => p.ended >= revokedAt);
  const firstRefusal = after.find((p) => p.code === 'vault_key_revoked');
  const passed = (p: Probe) => p.code === 'endpoint_not_allowed';
  return {
    instance_id: inst.instance_id,
    data_plane_url: inst.data_plane_url,
    calls: probes.length,
    time_to_refusal_ms: firstRefusal ? Math.round((firstRefusal.ended - revokedAt) * 10) / 10 : null,
    leaked_calls: after.filter((p) => p.started >= revokedAt && passed(p)).length,
    in_flight: after.filter((p) => p.started < revokedAt && passed(p)).length,
    errors: probes.filter((p) => p.code === 'network_error' || p.code.startsWith('http_')).length,
  };
}

export async function runDrill(proxy: ProxyAdapter, o: DrillOptions): Promise<DrillResult> {
  const listed = (await proxy.instances()).filter((i) => i.data_plane_url);
  const untrusted = listed
    .filter((i) => i.data_plane_untrusted)
    .map((i) => ({ instance_id: i.instance_id, reason: i.data_plane_untrusted! }));
  const instances = listed.filter((i) => !i.data_plane_untrusted);
  if (!instances.length)
    throw new TourniquetError(
      'step-failed',
      `the proxy reported no instance with a trusted data-plane URL${untrusted.length ? ` (${untrusted.map((u) => `${u.instance_id}: ${u.reason}`).join('; ')})` : ''}`,
      {
        hint: "list the instances' hosts in trusted_instances (tourniquet config set trusted_instances URL-PATTERN)",
      },
    );
  const key = await proxy.issueVaultKey({
    vendor: o.vendor,
    allowed_endpoints: [`GET ${DRILL_PATH}/allowed`],
    expires_in: '15m',
    labels: { agent: 'tourniquet-drill', owner: 'tourniquet' },
  });
  const dispatcher = new Agent({ connections: 4 });
  let stopped = false;
  let cleaned = false;
  try {
    const gap = 1000 / o.ratePerS;
    const loops = instances.map((i) =>
      loop(dispatcher, i, key.secret, gap, () => stopped || o.signal?.aborted === true),
    );
    await sleep(o.warmupMs);
    const t0 = performance.now();
    await proxy.revokeVaultKey(key.id, { hard: false });
    const revokedAt = performance.now();
    cleaned = true;
    await sleep(o.observeMs);
    stopped = true;
    const all = await Promise.all(loops);
    const per = instances.map((inst, i) => measureInstance(inst, all[i]!, revokedAt));
    const times = per.map((p) => p.time_to_refusal_ms);
    return {
      vault_key_id: key.id,
      vendor: o.vendor,
      revoke_call_ms: Math.round((revokedAt - t0) * 10) / 10,
      instances: per,
      max_time_to_refusal_ms: times.some((t) => t === null) ? null : Math.max(...(times as number[])),
      leaked_calls: per.reduce((n, p) => n + p.leaked_calls, 0),
      cleaned_up: cleaned,
      untrusted,
    };
  } finally {
    stopped = true;
    if (!cleaned) await proxy.revokeVaultKey(key.id, { hard: true }).catch(() => undefined);
    await dispatcher.close();
  }
}

export interface DrillThresholds {
  maxRefusalMs: number;
  maxLeaked: number;
}

/** What is over the thresholds, in words; empty when the drill passed. */
export function overThresholds(r: DrillResult, t: DrillThresholds): string[] {
  const out: string[] = r.untrusted.map((u) => `${u.instance_id} was not drilled: ${u.reason}`);
  for (const i of r.instances) {
    if (i.time_to_refusal_ms === null) out.push(`${i.instance_id} never refused the revoked key`);
    else if (i.time_to_refusal_ms > t.maxRefusalMs)
      out.push(`${i.instance_id} took ${i.time_to_refusal_ms} ms to refuse it (threshold ${t.maxRefusalMs} ms)`);
  }
  if (r.leaked_calls > t.maxLeaked)
    out.push(`${r.leaked_calls} calls got past the key check after the revoke returned (threshold ${t.maxLeaked})`);
  return out;
}
