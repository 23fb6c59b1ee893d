import { HttpClient } from '../http.js';
import type { Settings } from '../config.js';
import { listIncidents, readJournal } from '../journal.js';
import { dueState, policyFor, type RotationPolicy } from './policy.js';

/**
 * `tourniquet keys`: every production key the proxy holds, with what a compliance reviewer asks
 * about it: its age, when it was last used, the vault keys it serves, when it is due for
 * rotation, and the incident of the rotation that put it there. Read-only.
 */
export interface KeyRow {
  id: string;
  vendor: string;
  state: string;
  hint: string;
  label: string | null;
  created_at: string;
  age_days: number;
  /** Latest over every proxy instance; null: none of them forwarded a call with it since `usage_since`. */
  last_used_at: string | null;
  usage_since: string | null;
  /** Active vault keys served by it: pinned to it, or following it as the vendor's active key. */
  vault_keys: number;
  policy: Pick<RotationPolicy, 'max_age' | 'source'>;
  due_at: string | null;
  /** Only an active key can be overdue: standby and retired keys serve nobody. */
  overdue: boolean;
  last_rotation: { incident_id: string; at: string; status: string } | null;
}

export interface Inventory {
  at: string;
  keys: KeyRow[];
  overdue: string[];
  /** Instances whose usage could not be read (their answer is missing from last_used_at). */
  unreachable: string[];
}

interface UpstreamAnswer {
  id: string;
  vendor: string;
  state: string;
  hint: string;
  label: string | null;
  created_at: string;
  last_used_at?: string | null;
}

const latest = (a: string | null, b: string | null | undefined) => (!b ? a : !a || b > a ? b : a);

/** Every instance's memory of when it last used each key (the admin API answers per instance). */
async function usageByInstance(
  clients: HttpClient[],
): Promise<{ last: Map<string, string | null>; since: string | null; unreachable: string[] }> {
  const last = new Map<string, string | null>();
  let since: string | null = null;
  const unreachable: string[] = [];
  for (const client of clients) {
    try {
      const body = (await client.get('/v1/upstream-keys')).body as { data: UpstreamAnswer[]; usage_since?: string };
      for (const k of body.data) last.set(k.id, latest(last.get(k.id) ?? null, k.last_used_at));
      if (body.usage_since && (!since || body.usage_since < since)) since = body.usage_since;
    } catch {
      unreachable.push(client.baseUrl);
    }
  }
  return { last, since, unreachable };
}

/** The incident of the rotation whose new key is `id`, from the journals in the state directory. */
export function rotationsByNewKey(stateDir: string): Map<string, KeyRow['last_rotation']> {
  const out = new Map<string, KeyRow['last_rotation']>();
  for (const inc of listIncidents(stateDir).reverse()) {
    const entries = readJournal(stateDir, inc.id);
    if (entries.find((e) => e.type === 'started')?.command !== 'rotate') continue;
    for (const e of entries) {
      const id = (e.outputs as Record<string, unknown> | undefined)?.new_upstream_key_id;
      if (e.type === 'step' && typeof id === 'string')
        out.set(id, { incident_id: inc.id, at: inc.started_at, status: inc.status });
    }
  }
  return out;
}

interface VaultKeyAnswer {
  vendor: string;
  upstream_key_id: string | null;
}

/** A promote leaves one active key per vendor: the one every unpinned vault key of that vendor follows. */
function servedBy(k: UpstreamAnswer, vaultKeys: VaultKeyAnswer[]): number {
  return vaultKeys.filter(
    (v) => v.upstream_key_id === k.id || (v.upstream_key_id === null && v.vendor === k.vendor && k.state === 'active'),
  ).length;
}

export interface InventoryInput {
  admin: HttpClient;
  /** A client for another instance's admin URL (same token). */
  clientFor: (adminUrl: string) => HttpClient;
  settings: Settings;
  stateDir: string;
  vendor?: string;
  includeRetired: boolean;
  maxAge?: string;
  now?: number;
}

export async function buildInventory(i: InventoryInput): Promise<Inventory> {
  const now = i.now ?? Date.now();
  const upstream = (
    (await i.admin.get('/v1/upstream-keys', { query: { vendor: i.vendor } })).body as { data: UpstreamAnswer[] }
  ).data;
  const vaultKeys = (
    (await i.admin.get('/v1/vault-keys', { query: { status: 'active' } })).body as { data: VaultKeyAnswer[] }
  ).data;
  const instances = ((await i.admin.get('/v1/instances')).body as { data: Array<{ admin_url: string }> }).data;
  const clients = instances.length
    ? instances.map((x, n) => (n === 0 ? i.admin : i.clientFor(x.admin_url)))
    : [i.admin];
  const usage = await usageByInstance(clients);
  const rotations = rotationsByNewKey(i.stateDir);
  const keys = upstream
    .filter((k) => i.includeRetired || k.state !== 'retired')
    .map((k): KeyRow => {
      const policy = policyFor(i.settings, k, i.maxAge);
      const due = dueState(k.created_at, policy, now);
      return {
        id: k.id,
        vendor: k.vendor,
        state: k.state,
        hint: k.hint,
        label: k.label,
        created_at: k.created_at,
        age_days: Math.floor(due.age_ms / 86_400_000),
        last_used_at: usage.last.get(k.id) ?? k.last_used_at ?? null,
        usage_since: usage.since,
        vault_keys: servedBy(k, vaultKeys),
        policy: { max_age: policy.max_age, source: policy.source },
        due_at: k.state === 'active' ? due.due_at : null,
        overdue: k.state === 'active' && due.overdue,
        last_rotation: rotations.get(k.id) ?? null,
      };
    });
  return {
    at: new Date(now).toISOString(),
    keys,
    overdue: keys.filter((k) => k.overdue).map((k) => k.id),
    unreachable: usage.unreachable,
  };
}
