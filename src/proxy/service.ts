import type { ProxyStore, UpstreamKeyRecord, VaultKeyPolicy, VaultKeyRecord } from './store/types.js';
import { StoreUnavailableError } from './store/types.js';
import {
  PolicyState,
  hashSecret,
  newUpstreamKeyId,
  newVaultKeyId,
  newVaultSecret,
  type LiveVaultKey,
} from './state.js';
import type { InflightRegistry } from './inflight.js';
import { redactHint } from '../core/secrets.js';
import { ApiError } from './admin/validate.js';
import type { DurableRevoke, Revoker } from './revoke.js';
import type { FleetConfirmation } from './fleet/confirm.js';

export interface IssueInput extends Partial<VaultKeyPolicy> {
  vendor: string;
  expires_in?: number; // seconds
  agent_run_id?: string | null;
  labels?: { agent?: string; owner?: string };
  upstream_key_id?: string | null;
}

/** What the admin API shows of a vault key: never the hash, never the secret. */
export function vaultKeyView(k: VaultKeyRecord, now = Date.now()) {
  const expired = k.expires_at !== null && Date.parse(k.expires_at) <= now;
  return {
    id: k.id,
    vendor: k.vendor,
    status: k.status === 'revoked' ? 'revoked' : expired ? 'expired' : 'active',
    hint: `vk_…${k.secret_hint}`,
    allowed_endpoints: k.allowed_endpoints,
    daily_usd_cap: k.daily_usd_cap,
    per_call_amount_cap: k.per_call_amount_cap,
    calls_per_minute: k.calls_per_minute,
    customer_id_path: k.customer_id_path,
    agent_run_id: k.agent_run_id,
    labels: k.labels,
    upstream_key_id: k.upstream_key_id,
    created_at: k.created_at,
    expires_at: k.expires_at,
    revoked_at: k.revoked_at,
    revoke_mode: k.revoke_mode,
    rolled_from: k.rolled_from,
  };
}

export function upstreamView(u: UpstreamKeyRecord) {
  return {
    id: u.id,
    vendor: u.vendor,
    state: u.state,
    hint: u.hint,
    label: u.label,
    created_at: u.created_at,
    updated_at: u.updated_at,
  };
}

async function durable<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw new ApiError(503, 'store_unavailable', err.message);
    throw err;
  }
}

/** The operations behind the admin API: memory and the durable store, both, before returning. */
export class ProxyService {
  constructor(
    readonly store: ProxyStore,
    readonly state: PolicyState,
    readonly inflight: InflightRegistry,
    readonly vendors: Set<string>,
    readonly revoker: Revoker,
  ) {}

  private checkVendor(vendor: string): void {
    if (!this.vendors.has(vendor))
      throw new ApiError(
        400,
        'invalid_request',
        `unknown vendor "${vendor}" (known: ${[...this.vendors].join(', ')})`,
        'vendor',
      );
  }

  /** A new record (and its secret) from the input; nothing stored yet. */
  private newKey(input: IssueInput, rolledFrom: string | null): { record: VaultKeyRecord; secret: string } {
    this.checkVendor(input.vendor);
    if (input.upstream_key_id) {
      const u = this.state.upstreamKey(input.upstream_key_id);
      if (!u)
        throw new ApiError(400, 'invalid_request', `no production key ${input.upstream_key_id}`, 'upstream_key_id');
      if (u.vendor !== input.vendor)
        throw new ApiError(400, 'invalid_request', `production key ${u.id} is for ${u.vendor}`, 'upstream_key_id');
    }
    const secret = newVaultSecret();
    const now = new Date();
    const record: VaultKeyRecord = {
      id: newVaultKeyId(),
      secret_hash: hashSecret(secret),
      secret_hint: secret.slice(-4),
      vendor: input.vendor,
      upstream_key_id: input.upstream_key_id ?? null,
      agent_run_id: input.agent_run_id ?? null,
      labels: input.labels ?? {},
      allowed_endpoints: input.allowed_endpoints ?? null,
      daily_usd_cap: input.daily_usd_cap ?? null,
      per_call_amount_cap: input.per_call_amount_cap ?? null,
      calls_per_minute: input.calls_per_minute ?? null,
      customer_id_path: input.customer_id_path ?? null,
      status: 'active',
      created_at: now.toISOString(),
      expires_at: input.expires_in ? new Date(now.getTime() + input.expires_in * 1000).toISOString() : null,
      revoked_at: null,
      revoke_mode: null,
      rolled_from: rolledFrom,
    };
    return { record, secret };
  }

  async issue(input: IssueInput): Promise<{ record: VaultKeyRecord; secret: string }> {
    const made = this.newKey(input, null);
    await durable(this.store.insertVaultKey(made.record));
    this.state.applyVaultKey(made.record);
    return made;
  }

  /** C1: see revoke.ts. Throws 503 revoke_not_durable while the store cannot take it. */
  revoke(ids: string[], hard: boolean): Promise<DurableRevoke> {
    return this.revoker.revoke(ids, hard);
  }

  /** Vault keys under a production key: pinned to it, or following it as the vendor's active key. */
  keysUnder(selector: { vendor?: string; upstream_key_id?: string }): LiveVaultKey[] {
    // A misspelt vendor would match no key and answer "revoked nothing" as if done.
    if (selector.vendor) this.checkVendor(selector.vendor);
    const out: LiveVaultKey[] = [];
    const up = selector.upstream_key_id ? this.state.upstreamKey(selector.upstream_key_id) : undefined;
    if (selector.upstream_key_id && !up)
      throw new ApiError(404, 'not_found', `no production key ${selector.upstream_key_id}`);
    const activeOfVendor = up ? this.state.activeUpstream(up.vendor)?.id === up.id : false;
    for (const k of this.state.vaultKeys()) {
      if (k.status === 'revoked') continue;
      if (selector.vendor && k.vendor === selector.vendor) out.push(k);
      else if (
        up &&
        (k.upstream_key_id === up.id || (k.upstream_key_id === null && k.vendor === up.vendor && activeOfVendor))
      )
        out.push(k);
    }
    return out;
  }

  /** Old and new in one transaction; with revoke_old the old key is refused here first (C1 when not durable). */
  async roll(
    id: string,
    revokeOld: boolean,
  ): Promise<{ record: VaultKeyRecord; secret: string; fleet?: FleetConfirmation }> {
    const old = this.state.vaultKey(id);
    if (!old) throw new ApiError(404, 'not_found', `no vault key ${id}`);
    const remaining = old.expires_at
      ? Math.max(1, (Date.parse(old.expires_at) - Date.parse(old.created_at)) / 1000)
      : undefined;
    const next = this.newKey(
      {
        vendor: old.vendor,
        allowed_endpoints: old.allowed_endpoints,
        daily_usd_cap: old.daily_usd_cap,
        per_call_amount_cap: old.per_call_amount_cap,
        calls_per_minute: old.calls_per_minute,
        customer_id_path: old.customer_id_path,
        agent_run_id: old.agent_run_id,
        labels: old.labels,
        upstream_key_id: old.upstream_key_id,
        expires_in: remaining,
      },
      old.id,
    );
    const fleet = revokeOld
      ? await this.revoker.roll(id, next.record)
      : await durable(this.store.rollVaultKey(id, next.record, false, next.record.created_at)).then(() => undefined);
    this.state.applyVaultKey(next.record);
    return { ...next, fleet };
  }

  async addUpstream(
    input: { vendor: string; secret: string; state?: 'active' | 'standby'; label?: string; account_sid?: string },
    fromConfig = false,
    id?: string,
  ): Promise<UpstreamKeyRecord> {
    this.checkVendor(input.vendor);
    if (input.vendor === 'twilio' && !input.account_sid)
      throw new ApiError(
        400,
        'invalid_request',
        'a Twilio key needs account_sid (the Account SID or API key SID)',
        'account_sid',
      );
    const at = new Date().toISOString();
    const rec: UpstreamKeyRecord = {
      id: id ?? newUpstreamKeyId(),
      vendor: input.vendor,
      state: 'standby',
      hint: redactHint(input.secret),
      label: input.label ?? null,
      account_sid: input.account_sid ?? null,
      secret: fromConfig ? null : input.secret,
      created_at: at,
      updated_at: at,
    };
    if (fromConfig) this.state.configSecrets.set(rec.id, input.secret);
    await durable(this.store.insertUpstreamKey(rec));
    this.state.applyUpstreamKey(rec);
    // A vendor's first key, or one asked to be active, is promoted in the same call.
    const wantActive =
      input.state === 'active' || (input.state === undefined && !this.state.activeUpstream(input.vendor));
    return wantActive ? ((await this.promote(rec.id)) ?? rec) : (this.state.upstreamKey(rec.id) ?? rec);
  }

  async promote(id: string): Promise<UpstreamKeyRecord | undefined> {
    const cur = this.state.upstreamKey(id);
    if (!cur) return undefined;
    if (cur.state === 'retired') throw new ApiError(409, 'conflict', `production key ${id} is retired`);
    const rec = await durable(this.store.promoteUpstreamKey(id, new Date().toISOString()));
    if (rec) for (const u of await this.store.listUpstreamKeys({ vendor: rec.vendor })) this.state.applyUpstreamKey(u);
    return rec;
  }

  async retire(id: string): Promise<UpstreamKeyRecord | undefined> {
    const rec = await durable(this.store.retireUpstreamKey(id, new Date().toISOString()));
    if (rec) this.state.applyUpstreamKey(rec);
    return rec;
  }
}
