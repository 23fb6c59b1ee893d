import type { ProxyAdapter, UpstreamKeySummary } from '../../adapters/proxy/types.js';
import type { VendorAdapter } from '../../vendors/types.js';
import { TourniquetError } from '../errors.js';
import { redactHint } from '../secrets.js';
import type { Step, StepEnv } from '../steps/types.js';
import { proxiedProbeCall } from './dataplane.js';
import { deleteOldStep, watchTailStep } from './vendor-steps.js';

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
}

const str = (env: StepEnv, k: string) => env.state[k] as string;

/**
 * A key tourniquet added is labelled with its id at the vendor, so the next rotation can delete
 * it there. Any other label is the operator's and is never taken for a vendor id.
 */
export const LABEL_PREFIX = 'tourniquet:';
export const vendorKeyIdFromLabel = (label: string | null): string | null => (label?.startsWith(LABEL_PREFIX) ? label.slice(LABEL_PREFIX.length) : null);
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
      if (!d.proxy.capabilities.upstreamKeys) throw new TourniquetError('step-failed', `the ${d.proxy.kind} proxy does not hold production keys; rotate at the vendor instead (scenario: no proxy)`);
      const keys = await d.proxy.listUpstreamKeys(p.vendor);
      const active = keys.filter((k) => k.vendor === p.vendor && k.state === 'active');
      if (!active.length) throw new TourniquetError('not-found', `no active ${p.vendor} production key at the proxy`, { hint: 'list them: GET /v1/upstream-keys' });
      const old: UpstreamKeySummary = active[0]!;
      return { status: 'done', detail: `active: ${old.id} (${old.hint})`, outputs: { old_upstream_key_id: old.id, old_hint: old.hint, old_vendor_key_id: p.oldVendorKeyId ?? vendorKeyIdFromLabel(old.label) } };
    },
  };
}

interface NewKey {
  secret: string;
  /** The key's id at the vendor, for deleting it there later (null: guided, or an auth token). */
  vendorKeyId: string | null;
  /** Twilio: the Basic-auth user in front of the secret. */
  sid?: string;
  label?: string;
}

/** The new production key: the vendor's create API, Twilio's secondary auth token, or guided (Stripe). */
async function obtainNewKey(p: RotateParams, d: RotateDeps, env: StepEnv): Promise<NewKey> {
  if (p.authToken) {
    if (!d.vendor.authToken) throw new TourniquetError('usage', `${d.vendor.displayName} has no auth token to rotate; --auth-token is for Twilio`);
    const created = await d.vendor.authToken.createSecondary();
    d.register(created.secret);
    env.record('note', { message: `created a secondary ${d.vendor.displayName} auth token (${created.hint})`, leftover_of: 'rotate:new-key', auth_token_secondary: true });
    return { secret: created.secret, vendorKeyId: null, sid: created.meta?.account_sid || undefined, label: `${LABEL_PREFIX}auth_token` };
  }
  if (d.vendor.capabilities.create) {
    const created = await d.vendor.createKey({ name: `tourniquet-rotation-${new Date().toISOString().slice(0, 10)}` });
    d.register(created.secret);
    env.record('note', { message: `created ${d.vendor.displayName} key ${created.id} (${created.hint})`, leftover_of: 'rotate:new-key', vendor_key_id: created.id });
    return { secret: created.secret, vendorKeyId: created.id, sid: p.vendor === 'twilio' ? created.id : undefined, label: `${LABEL_PREFIX}${created.id}` };
  }
  for (const line of d.vendor.guidance()) env.log(line);
  const secret = await d.readNewKey();
  d.register(secret);
  return { secret, vendorKeyId: null };
}

function newKeyStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:new-key',
    title: `obtain a new ${d.vendor.displayName} ${p.authToken ? 'auth token (secondary)' : 'key'}, prove it at the vendor, add it to the proxy as standby`,
    kind: 'rotate-via-proxy',
    target: p.vendor,
    calls: () => [...d.vendor.plan('create').map((c) => `${c.method} ${c.url}`), ...d.vendor.plan('probe').map((c) => `${c.method} ${c.url} (with the new key)`), d.proxy.describe('add-upstream', { vendor: p.vendor })],
    async run(env) {
      await cleanUpInterruptedAttempt(env, d, 'rotate:new-key');
      const k = await obtainNewKey(p, d, env);
      const probe = await d.vendor.probe({ secret: k.secret, id: k.sid });
      if (!probe.accepted) throw new TourniquetError('step-failed', `${d.vendor.displayName} refused the new key (HTTP ${probe.status}); nothing was changed at the proxy`, { hint: 'check you copied the whole key, from the right account and mode' });
      const added = await d.proxy.addUpstreamKey({ vendor: p.vendor, secret: k.secret, label: k.label, account_sid: k.sid });
      env.record('note', { message: `added ${added.id} to the proxy as standby`, leftover_of: 'rotate:new-key', upstream_key_id: added.id });
      env.secrets.set('new_key', k.secret);
      return { status: 'done', detail: `standby ${added.id} (${redactHint(k.secret)}), accepted by ${d.vendor.displayName} in ${probe.ms} ms`, outputs: { new_upstream_key_id: added.id, new_vendor_key_id: k.vendorKeyId, new_hint: redactHint(k.secret) } };
    },
    async rollback(env) {
      const id = str(env, 'new_upstream_key_id');
      if (id) await d.proxy.retireUpstreamKey(id);
      const vid = env.state.new_vendor_key_id as string | null;
      if (vid && d.vendor.capabilities.delete) await d.vendor.deleteKey(vid);
      if (p.authToken && d.vendor.authToken) await d.vendor.authToken.deleteSecondary();
      return `retired the new key ${id} at the proxy${vid ? ` and deleted ${vid} at ${d.vendor.displayName}` : p.authToken ? ' and deleted the secondary auth token' : ''}`;
    },
  };
}

/**
 * A new-key step killed after it created a key at the vendor leaves that key behind, its
 * secret lost with the process. Before trying again, delete it there (and retire it at the
 * proxy if it got that far), so a resumed rotation does not leave live keys nobody holds.
 */
async function cleanUpInterruptedAttempt(env: StepEnv, d: RotateDeps, step: string): Promise<void> {
  for (const note of env.leftovers(step)) {
    const id = note.vendor_key_id as string | undefined;
    if (id && d.vendor.capabilities.delete) {
      const r = await d.vendor.deleteKey(id);
      env.log(`deleted ${id} at ${d.vendor.displayName}, left by the interrupted attempt (${r.status})`);
    }
    if (note.auth_token_secondary && d.vendor.authToken) await d.vendor.authToken.deleteSecondary();
    const up = note.upstream_key_id as string | undefined;
    if (up) await d.proxy.retireUpstreamKey(up);
  }
}

function verifyStandbyStep(p: RotateParams, d: RotateDeps): Step {
  return {
    key: 'rotate:verify-standby',
    title: 'prove a proxied call succeeds with the new key (while it is still standby)',
    kind: 'verify-proxied-call',
    readOnly: true,
    target: p.vendor,
    calls: () => [`${d.proxy.describe('issue')} (temporary probe key pinned to {new_upstream_key_id})`, `GET <data plane>/${p.vendor}${d.probePath}`, d.proxy.describe('revoke', { id: '{probe key}' })],
    async run(env) {
      const call = await proxiedProbeCall({ proxy: d.proxy, vendor: p.vendor, probePath: d.probePath, upstreamKeyId: str(env, 'new_upstream_key_id'), register: d.register, trace: d.trace });
      return { status: 'done', detail: `proxied GET ${d.probePath} with the standby key: HTTP ${call.status}`, outputs: { standby_probe_status: call.status } };
    },
    async verify(env) {
      const s = env.state.standby_probe_status as number;
      return { ok: okStatus(s), detail: okStatus(s) ? `HTTP ${s} through the proxy` : `HTTP ${s} through the proxy; the old key stays active` };
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
      return { ok: k?.state === 'active', detail: `the proxy lists ${k?.id ?? 'no such key'} as ${k?.state ?? 'missing'}` };
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
    calls: () => [`${d.proxy.describe('issue')} (temporary probe key)`, `GET <data plane>/${p.vendor}${d.probePath}`, d.proxy.describe('audit')],
    async run() {
      const call = await proxiedProbeCall({ proxy: d.proxy, vendor: p.vendor, probePath: d.probePath, register: d.register, trace: d.trace });
      return { status: 'done', detail: `proxied call HTTP ${call.status}`, outputs: { audit_probe_vault_key_id: call.vault_key_id, audit_probe_status: call.status } };
    },
    async verify(env) {
      const want = str(env, 'new_upstream_key_id');
      // Audit rows are written in batches; give the batch a moment to land.
      let row: Awaited<ReturnType<ProxyAdapter['audit']>>[number] | undefined;
      for (let i = 0; i < 40 && !row && !env.signal.aborted; i++) {
        if (i) await new Promise((res) => setTimeout(res, 50));
        row = (await d.proxy.audit({ vault_key_id: str(env, 'audit_probe_vault_key_id') })).find((r) => r.policy_verdict === 'allowed');
      }
      const ok = row?.upstream_key_id === want && okStatus(row.vendor_status);
      return { ok, detail: row ? `audit row: upstream_key_id ${row.upstream_key_id}, vendor status ${row.vendor_status}` : 'no audit row for the probe call' };
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
  return [inspectStep(p, d), newKeyStep(p, d), verifyStandbyStep(p, d), promoteStep(p, d), verifyAuditStep(p, d), retireStep(p, d), deleteOldStep(p, d), watchTailStep(p, d)];
}
