import { createHash, randomBytes } from 'node:crypto';
import type { ChangeSet, UpstreamKeyRecord, VaultKeyRecord } from './store/types.js';
import { compileEndpoints } from './request-info.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomToken(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}

export const newVaultSecret = () => `vk_${randomToken(40)}`;
/** Ids carry `_id_` so they never look like a secret (and are safe on argv). */
export const newVaultKeyId = () => `vk_id_${randomToken(16)}`;
export const newUpstreamKeyId = () => `up_${randomToken(16)}`;
export const hashSecret = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface LiveVaultKey extends VaultKeyRecord {
  endpointAllowed: ((method: string, path: string) => boolean) | null;
  expiresAtMs: number | null;
}

export interface LiveUpstreamKey extends UpstreamKeyRecord {
  /** The secret in memory: from the store (admin API) or from the config file. */
  value: string | null;
}

/**
 * The policy state the data plane decides on, in memory: a lookup by secret hash is a Map get.
 * Changes arrive as whole records (from this instance's admin calls or a store ChangeSet).
 */
export class PolicyState {
  private readonly byHash = new Map<string, LiveVaultKey>();
  private readonly byId = new Map<string, LiveVaultKey>();
  private readonly upstream = new Map<string, LiveUpstreamKey>();
  /** Secrets of config-file keys, by id; never stored. */
  readonly configSecrets = new Map<string, string>();
  /** Keys revoked here before this memory knew them: whatever record arrives later arrives revoked. */
  private readonly tombstones = new Map<string, { at: string; mode: 'soft' | 'hard' }>();
  revision = 0;
  revocationChangedAt: string = new Date().toISOString();

  applyVaultKey(incoming: VaultKeyRecord): LiveVaultKey {
    const prev = this.byId.get(incoming.id);
    if (prev && prev.status === 'revoked' && incoming.status === 'active') return prev; // revocation is one-way
    const t = incoming.status === 'active' ? this.tombstones.get(incoming.id) : undefined;
    const rec: VaultKeyRecord = t
      ? { ...incoming, status: 'revoked', revoked_at: t.at, revoke_mode: t.mode }
      : incoming;
    const live: LiveVaultKey = {
      ...rec,
      // Only null allows every endpoint; a stored [] (issued before issue refused it) allows none.
      endpointAllowed: rec.allowed_endpoints ? compileEndpoints(rec.allowed_endpoints) : null,
      expiresAtMs: rec.expires_at ? Date.parse(rec.expires_at) : null,
    };
    this.byHash.set(rec.secret_hash, live);
    this.byId.set(rec.id, live);
    if (rec.status === 'revoked' && prev?.status !== 'revoked') this.revocationChangedAt = new Date().toISOString();
    return live;
  }

  /** Flip in memory first: the very next request sees it, even before the store answers. */
  markRevoked(id: string, at: string, mode: 'soft' | 'hard'): boolean {
    const k = this.byId.get(id);
    if (!k) {
      this.tombstones.set(id, { at, mode });
      return false;
    }
    if (k.status === 'revoked') return false;
    k.status = 'revoked';
    k.revoked_at = at;
    k.revoke_mode = mode;
    this.revocationChangedAt = at;
    return true;
  }

  /** The store had it revoked earlier than this instance thought: take the store's time and mode. */
  alignRevoked(id: string, at: string, mode: 'soft' | 'hard'): void {
    const k = this.byId.get(id);
    if (k?.status === 'revoked') {
      k.revoked_at = at;
      k.revoke_mode = mode;
    }
  }

  applyUpstreamKey(rec: UpstreamKeyRecord): void {
    this.upstream.set(rec.id, { ...rec, value: rec.secret ?? this.configSecrets.get(rec.id) ?? null });
  }

  apply(changes: ChangeSet): void {
    for (const u of changes.upstream_keys) this.applyUpstreamKey(u);
    for (const v of changes.vault_keys) this.applyVaultKey(v);
    if (changes.revision > this.revision) this.revision = changes.revision;
  }

  byHashLookup(hash: string): LiveVaultKey | undefined {
    return this.byHash.get(hash);
  }

  vaultKey(id: string): LiveVaultKey | undefined {
    return this.byId.get(id);
  }

  vaultKeys(): IterableIterator<LiveVaultKey> {
    return this.byId.values();
  }

  upstreamKey(id: string): LiveUpstreamKey | undefined {
    return this.upstream.get(id);
  }

  /** The production key a vault key is served by: its pin unless retired, else the vendor's active key. */
  upstreamFor(k: VaultKeyRecord): LiveUpstreamKey | undefined {
    if (k.upstream_key_id) {
      const pinned = this.upstream.get(k.upstream_key_id);
      if (pinned && pinned.state !== 'retired' && pinned.value) return pinned;
    }
    return this.activeUpstream(k.vendor);
  }

  activeUpstream(vendor: string): LiveUpstreamKey | undefined {
    let best: LiveUpstreamKey | undefined;
    for (const u of this.upstream.values())
      if (u.vendor === vendor && u.state === 'active' && u.value && (!best || u.updated_at > best.updated_at)) best = u;
    return best;
  }

  /** Every production secret in memory, for scrubbing vendor error bodies. */
  upstreamSecrets(): string[] {
    const out: string[] = [];
    for (const u of this.upstream.values()) if (u.value) out.push(u.value);
    return out;
  }
}
