import type { IssueSpec, ProxyAdapter } from '../../adapters/proxy/types.js';
import { usageError } from '../errors.js';
import { waitForRefusal } from '../probe.js';
import type { Step } from '../steps/types.js';

/** Flags → the proxy's issue spec. Durations are the proxy's syntax (`45m`, `2h`, `7d`). */
export interface IssueFlags {
  vendor?: string;
  cap?: string;
  perCallCap?: string;
  rate?: string;
  endpoint?: string[];
  expiresIn?: string;
  run?: string;
  upstreamKey?: string;
  agent?: string;
}

function num(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw usageError(`${flag} takes a non-negative number, not "${v}"`);
  return n;
}

export function issueSpec(f: IssueFlags): IssueSpec {
  if (!f.vendor)
    throw usageError(
      'missing the vendor: pass --vendor',
      'e.g. tourniquet issue --vendor stripe --cap 100 --expires-in 45m --run checkout_run_abc123',
    );
  if (f.expiresIn && !/^\d+(s|m|h|d)$/.test(f.expiresIn))
    throw usageError(`--expires-in takes a duration like 45m, 2h or 7d, not "${f.expiresIn}"`);
  for (const e of f.endpoint ?? [])
    if (!/^[A-Z]+ \//.test(e))
      throw usageError(`--endpoint takes "METHOD /path" (e.g. "POST /v1/payment_intents"), not "${e}"`);
  const spec: IssueSpec = { vendor: f.vendor };
  const cap = num(f.cap, '--cap');
  const perCall = num(f.perCallCap, '--per-call-cap');
  const rate = num(f.rate, '--rate');
  if (cap !== undefined) spec.daily_usd_cap = cap;
  if (perCall !== undefined) spec.per_call_amount_cap = perCall;
  if (rate !== undefined) spec.calls_per_minute = Math.max(1, Math.round(rate));
  if (f.endpoint?.length) spec.allowed_endpoints = f.endpoint;
  if (f.expiresIn) spec.expires_in = f.expiresIn;
  if (f.run) spec.agent_run_id = f.run;
  if (f.upstreamKey) spec.upstream_key_id = f.upstreamKey;
  if (f.agent) spec.labels = { agent: f.agent };
  return spec;
}

/**
 * Roll a vault key: same policy, new secret. The new secret is kept in memory only (the
 * command prints it once); when the old key is revoked, every instance must refuse it.
 */
export interface RollParams {
  id: string;
  revokeOld: boolean;
  verifyTimeoutMs: number;
}

export function rollSteps(p: RollParams, d: { proxy: ProxyAdapter }): Step[] {
  return [
    {
      key: `roll:${p.id}`,
      title: `roll vault key ${p.id}: same policy, new secret${p.revokeOld ? '; the old one revoked' : '; the old one left to expire'}`,
      kind: 'reissue-vault-keys',
      target: p.id,
      calls: () => [
        d.proxy.describe('roll', { id: p.id }),
        ...(p.revokeOld ? [d.proxy.describe('probe', { id: p.id })] : []),
      ],
      async run(env) {
        const k = await d.proxy.rollVaultKey(p.id, { revokeOld: p.revokeOld });
        env.secrets.set(`rolled:${p.id}`, k.secret);
        if (p.revokeOld)
          env.record('revoked', {
            vault_key_ids: [p.id],
            effective_at: new Date().toISOString(),
            statuses: { [p.id]: 'revoked' },
            by: 'roll',
          });
        return {
          status: 'done',
          detail: `new vault key ${k.id}`,
          outputs: { [`rolled:${p.id}`]: k.id, [`rolled_at:${p.id}`]: performance.now() },
        };
      },
      async verify(env) {
        if (!p.revokeOld) return { ok: true, detail: 'old key left to expire (not revoked)' };
        const instances = await d.proxy.instances();
        const rs = await waitForRefusal(d.proxy, p.id, instances, {
          since: performance.now(),
          timeoutMs: p.verifyTimeoutMs,
          signal: env.signal,
        });
        const serving = rs.filter((r) => !r.refused).map((r) => r.instance_id);
        return {
          ok: !serving.length,
          detail: serving.length
            ? `old key still served by ${serving.join(', ')}`
            : `old key refused by ${rs.length} instance(s)`,
          data: { instances: { [p.id]: rs } },
        };
      },
      verificationIsSecurity: true,
    },
  ];
}
