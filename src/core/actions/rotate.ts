import type { ProxyAdapter, UpstreamKeySummary } from '../../adapters/proxy/types.js';
import type { VendorAdapter } from '../../vendors/types.js';
import { TourniquetError } from '../errors.js';
import type { Step, StepEnv } from '../steps/types.js';
import { proxiedProbeCall } from './dataplane.js';
import { deleteOldStep, sweepStep, watchTailStep } from './vendor-steps.js';
import { newKeyStep } from './rotate-new-key.js';
import { AUTH_TOKEN_LABEL, LABEL_PREFIX, vendorKeyIdFromLabel } from './rotate-keys.js';
import { vendorFacts } from '../../vendors/index.js';
import { vendorKeyId } from '../../vendors/shared/facts.js';

/**
 * Zero-downtime rotation of a production key through the proxy. The order is the safety
 * argument: the new key is proven at the vendor, then through the proxy while on standby,
 * then promoted, then proven again from the audit rows; only after that is the old key retired
 * at the proxy and deleted at the vendor. Until the promote, rollback just retires the new key.
 */
export interface RotateParams {
  vendor: string;
  /** Twilio: rotate the account's auth token (secondary, then promote) instead of an API key. */
  authToken?: boolean;
  /** The old key's id at the vendor (what its delete API takes); default: the proxy label of the old key. */
  oldVendorKeyId?: string;
  /** Watch the old key's propagation tail with this secret (read from a file or env, never argv). */
  watchOldKey: boolean;
  tailTimeoutMs: number;
  tailIntervalMs: number;
}

export interface RotateDeps {
  proxy: ProxyAdapter;
  vendor: VendorAdapter;
  /** Vendor's harmless read path (for the proxied probe call). */
  probePath: string;
  /** The new key for a vendor without a create API (Stripe): masked prompt, --new-key-file or stdin. */
  readNewKey: () => Promise<string>;
  /** The old key's secret, to watch the vendor refuse it; undefined when not given. */
  readOldKey?: () => Promise<string | undefined>;
  register: (secret: string) => void;
  trace?: (line: string) => void;
  /** How long to look for a key a failed create may still make (default 10 s). */
  settleMs?: number;
}

const str = (env: StepEnv, k: string) => env.state[k] as string;

export { LABEL_PREFIX, AUTH_TOKEN_LABEL, vendorKeyIdFromLabel } from './rotate-keys.js';

/** The old key's id at the vendor: given, or from its label, and only if it has the shape the vendor's delete API takes. */
function oldVendorKeyId(p: RotateParams, old: UpstreamKeySummary): string | null {
  const facts = vendorFacts(p.vendor);
  const id = p.oldVendorKeyId ?? vendorKeyIdFromLabel(old.label);
  return vendorKeyId(facts, id);
}

/** The active key is an auth token (Twilio): deleting API keys cannot retire it. */
const isAuthToken = (k: UpstreamKeySummary) => k.label === AUTH_TOKEN_LABEL || k.label === `${LABEL_PREFIX}auth_token`;
const okStatus = (s: number) => s >= 200 && s < 300;

function inspectStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:inspect',
    title: `find the active ${p.vendor} production key at the proxy`,
    kind: 'inspect',
    readOnly: true,
    target: p.vendor,
    calls: () => [d.proxy.describe('list-upstream', { vendor: p.vendor })],
    async run() {
      if (!d.proxy.capabilities.upstreamKeys)
        throw new TourniquetError(
          'step-failed',
          `the ${d.proxy.kind} proxy does not hold production keys; rotate at the vendor instead (scenario: no proxy)`,
        );
      const keys = await d.proxy.listUpstreamKeys(p.vendor);
      const active = keys.filter((k) => k.vendor === p.vendor && k.state === 'active');
      if (!active.length)
        throw new TourniquetError('not-found', `no active ${p.vendor} production key at the proxy`, {
          hint: 'list them: GET /v1/upstream-keys',
        });
      const old: UpstreamKeySummary = active[0]!;
      if (isAuthToken(old) && !p.authToken && !p.oldVendorKeyId)
        throw new TourniquetError(
          'usage',
          `the active ${p.vendor} key ${old.id} is the account's auth token; deleting API keys cannot retire it`,
          { hint: `rotate it with: tourniquet rotate ${p.vendor} --auth-token` },
        );
      return {
        status: 'done',
        detail: `active: ${old.id} (${old.hint})`,
        outputs: { old_upstream_key_id: old.id, old_hint: old.hint, old_vendor_key_id: oldVendorKeyId(p, old) },
      };
    },
  };
}

function verifyStandbyStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:verify-standby',
    title: 'prove a proxied call succeeds with the new key (while it is still standby)',
    kind: 'verify-proxied-call',
    readOnly: true,
    target: p.vendor,
    calls: () => [
      `${d.proxy.describe('issue')} (temporary probe key pinned to {new_upstream_key_id})`,
      `GET <data plane>/${p.vendor}${d.probePath}`,
      d.proxy.describe('revoke', { id: '{probe key}' }),
    ],
    async run(env) {
      const call = await proxiedProbeCall({
        proxy: d.proxy,
        vendor: p.vendor,
        probePath: d.probePath,
        upstreamKeyId: str(env, 'new_upstream_key_id'),
        register: d.register,
        trace: d.trace,
      });
      return {
        status: 'done',
        detail: `proxied GET ${d.probePath} with the standby key: HTTP ${call.status}`,
        outputs: { standby_probe_status: call.status },
      };
    },
    verify(env) {
      const s = env.state.standby_probe_status as number;
      return {
        ok: okStatus(s),
        detail: okStatus(s) ? `HTTP ${s} through the proxy` : `HTTP ${s} through the proxy; the old key stays active`,
      };
    },
  };
}

function promoteStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:promote',
    title: 'promote the new key (every vault key now uses it)',
    kind: 'promote',
    target: p.vendor,
    calls: () => [d.proxy.describe('promote', { id: '{new_upstream_key_id}' })],
    async run(env) {
      const r = await d.proxy.promoteUpstreamKey(str(env, 'new_upstream_key_id'));
      return { status: 'done', detail: `${r.id} is ${r.state}`, outputs: { promoted_at: new Date().toISOString() } };
    },
    async verify(env) {
      const keys = await d.proxy.listUpstreamKeys(p.vendor);
      const k = keys.find((x) => x.id === str(env, 'new_upstream_key_id'));
      return {
        ok: k?.state === 'active',
        detail: `the proxy lists ${k?.id ?? 'no such key'} as ${k?.state ?? 'missing'}`,
      };
    },
    async rollback(env) {
      await d.proxy.promoteUpstreamKey(str(env, 'old_upstream_key_id'));
      return `re-promoted the old key ${str(env, 'old_upstream_key_id')}`;
    },
  };
}

function verifyAuditStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:verify-audit',
    title: 'prove new audit rows carry the new key id',
    kind: 'verify-audit',
    readOnly: true,
    target: p.vendor,
    calls: () => [
      `${d.proxy.describe('issue')} (temporary probe key)`,
      `GET <data plane>/${p.vendor}${d.probePath}`,
      d.proxy.describe('audit'),
    ],
    async run() {
      const call = await proxiedProbeCall({
        proxy: d.proxy,
        vendor: p.vendor,
        probePath: d.probePath,
        register: d.register,
        trace: d.trace,
      });
      return {
        status: 'done',
        detail: `proxied call HTTP ${call.status}`,
        outputs: { audit_probe_vault_key_id: call.vault_key_id, audit_probe_status: call.status },
      };
    },
    async verify(env) {
      const want = str(env, 'new_upstream_key_id');
      // Audit rows are written in batches; give the batch a moment to land.
      let row: Awaited<ReturnType<ProxyAdapter['audit']>>[number] | undefined;
      for (let i = 0; i < 40 && !row && !env.signal.aborted; i++) {
        if (i) await new Promise((res) => setTimeout(res, 50));
        row = (await d.proxy.audit({ vault_key_id: str(env, 'audit_probe_vault_key_id') })).find(
          (r) => r.policy_verdict === 'allowed',
        );
      }
      const ok = row?.upstream_key_id === want && okStatus(row.vendor_status);
      return {
        ok,
        detail: row
          ? `audit row: upstream_key_id ${row.upstream_key_id}, vendor status ${row.vendor_status}`
          : 'no audit row for the probe call',
      };
    },
  };
}

function retireStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:retire-old',
    title: 'retire the old key at the proxy',
    kind: 'retire',
    target: p.vendor,
    irreversible: true,
    calls: () => [d.proxy.describe('retire', { id: '{old_upstream_key_id}' })],
    async run(env) {
      const r = await d.proxy.retireUpstreamKey(str(env, 'old_upstream_key_id'));
      return { status: 'done', detail: `${r.id} is ${r.state}` };
    },
    async verify(env) {
      const k = (await d.proxy.listUpstreamKeys(p.vendor)).find((x) => x.id === str(env, 'old_upstream_key_id'));
      return { ok: !k || k.state === 'retired', detail: `the proxy lists the old key as ${k?.state ?? 'gone'}` };
    },
  };
}

export function rotateSteps(p: RotateParams, d: RotateDeps): Step[] {
  return [
    inspectStep(p, d),
    newKeyStep(p, d),
    verifyStandbyStep(p, d),
    promoteStep(p, d),
    verifyAuditStep(p, d),
    retireStep(p, d),
    sweepStep(p, d),
    deleteOldStep(p, d),
    watchTailStep(p, d),
  ];
}
