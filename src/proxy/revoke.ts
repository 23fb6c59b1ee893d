import type { ProxyStore, RevokeResult, VaultKeyRecord } from './store/types.js';
import { StoreUnavailableError } from './store/types.js';
import type { PolicyState } from './state.js';
import type { InflightRegistry } from './inflight.js';
import type { RevokeJournal, PendingRevoke } from './revoke-journal.js';
import type { FleetSync } from './fleet/sync.js';
import type { FleetConfirmation } from './fleet/confirm.js';
import type { RequestLog } from './log.js';
import { ApiError } from './admin/validate.js';

export interface RevokeOutcome {
  id: string;
  status: 'revoked';
  effective_at: string;
  already_revoked: boolean;
  mode: 'soft' | 'hard';
  in_flight_aborted: number;
}

/** A revoke the store has: each key's outcome, the ids the store does not know, and which instances refuse them. */
export interface DurableRevoke {
  outcomes: RevokeOutcome[];
  not_found: string[];
  fleet: FleetConfirmation;
}

export interface RevokerDeps {
  store: ProxyStore;
  state: PolicyState;
  inflight: InflightRegistry;
  journal: RevokeJournal | null;
  fleet: FleetSync;
  log: RequestLog;
}

/** C1: the key is refused here, the store does not have it yet; a repeated call completes it. */
export function notDurable(ids: string[], journaled: boolean, err: StoreUnavailableError): ApiError {
  return new ApiError(
    503,
    'revoke_not_durable',
    `refused on this instance, but not yet written to the store (${err.message}); retrying in the background, repeat the request to confirm it is durable`,
    undefined,
    {
      type: 'tourniquet_error',
      body: { ...(ids.length === 1 ? { id: ids[0] } : {}), ids, refused_here: true, journaled },
      headers: { 'retry-after': '1' },
    },
  );
}

/**
 * Revokes as C1 has them: memory first (the next request here is refused whatever happens), a
 * local journal entry (fsynced) while the store does not have it, the store write, then a
 * bounded wait for every live instance to confirm. Answered as done only once the store has
 * it; until then it is refused here anyway, the answer says so, and the write is retried in the
 * background (and replayed from the journal after a restart). `already_revoked` comes from
 * the store, never from memory.
 */
export class Revoker {
  private readonly pending = new Map<string, PendingRevoke>();
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(private readonly deps: RevokerDeps) {}

  /** Revokes the journal still holds (this instance's or a dead one's): refused at once, written when the store allows. */
  restore(): void {
    for (const e of this.deps.journal?.entries() ?? []) {
      this.pending.set(e.id, e);
      this.deps.state.markRevoked(e.id, e.at, e.mode);
    }
    if (this.pending.size) this.kick(0);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  async revoke(ids: string[], hard: boolean): Promise<DurableRevoke> {
    const at = new Date().toISOString();
    const entries = [...new Set(ids)].map((id) => this.refuseHere(id, at, hard ? 'hard' : 'soft'));
    const aborted = new Map(entries.map((e) => [e.id, hard ? this.deps.inflight.abortKey(e.id) : 0]));
    const journaled = await this.remember(entries.filter((e) => this.pending.has(e.id)));
    let results: Array<[PendingRevoke[], RevokeResult]>;
    try {
      results = await this.write(entries);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.kick();
      throw notDurable(
        entries.map((e) => e.id),
        journaled,
        err,
      );
    }
    return this.answer(results, aborted);
  }

  /** Roll with revoke_old: the new key and the old one's revoke in one transaction, the old refused here first. */
  async roll(oldId: string, next: VaultKeyRecord): Promise<FleetConfirmation> {
    const e = this.refuseHere(oldId, next.created_at, 'soft');
    const journaled = await this.remember(this.pending.has(oldId) ? [e] : []);
    let revision: number;
    try {
      revision = await this.deps.store.rollVaultKey(oldId, next, true, e.at);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      this.kick();
      throw notDurable([oldId], journaled, err);
    }
    await this.settled([oldId]);
    return this.deps.fleet.confirm(revision);
  }

  /** Memory first. A key already revoked from the store needs no journal entry; one revoked only here does. */
  private refuseHere(id: string, at: string, mode: 'soft' | 'hard'): PendingRevoke {
    const earlier = this.pending.get(id);
    if (earlier) return earlier;
    const k = this.deps.state.vaultKey(id);
    if (k?.status === 'revoked') return { id, at, mode };
    this.deps.state.markRevoked(id, at, mode);
    const e = { id, at, mode };
    this.pending.set(id, e);
    return e;
  }

  /** The journal entry; false when it could not be written (the answer says so). */
  private async remember(entries: PendingRevoke[]): Promise<boolean> {
    if (!this.deps.journal || !entries.length) return this.deps.journal !== null;
    try {
      await this.deps.journal.add(entries);
      return true;
    } catch (err) {
      this.deps.log.error('revoke journal write failed', err);
      return false;
    }
  }

  /** One store call per (time, mode): entries revoked earlier keep the time they took effect here. */
  private async write(entries: PendingRevoke[]): Promise<Array<[PendingRevoke[], RevokeResult]>> {
    const groups = new Map<string, PendingRevoke[]>();
    for (const e of entries) groups.set(`${e.at} ${e.mode}`, [...(groups.get(`${e.at} ${e.mode}`) ?? []), e]);
    const out: Array<[PendingRevoke[], RevokeResult]> = [];
    for (const group of groups.values()) {
      const r = await this.deps.store.revokeVaultKeys(
        group.map((e) => e.id),
        group[0]!.at,
        group[0]!.mode,
      );
      await this.settled(group.map((e) => e.id));
      out.push([group, r]);
    }
    return out;
  }

  private async settled(ids: string[]): Promise<void> {
    for (const id of ids) this.pending.delete(id);
    await this.deps.journal?.resolve(ids).catch((err) => this.deps.log.error('revoke journal write failed', err));
  }

  private async answer(
    results: Array<[PendingRevoke[], RevokeResult]>,
    aborted: Map<string, number>,
  ): Promise<DurableRevoke> {
    const outcomes: RevokeOutcome[] = [];
    const notFound: string[] = [];
    let revision = 0;
    for (const [group, r] of results) {
      revision = Math.max(revision, r.revision ?? 0);
      for (const e of group) {
        const prev = r.previous?.[e.id];
        if (r.not_found.includes(e.id)) notFound.push(e.id);
        // Revoked by this call, or by this revoke's own earlier attempt (a retry, a lost acknowledgement).
        else if (!prev || prev.revoked_at === e.at)
          outcomes.push({
            id: e.id,
            status: 'revoked',
            effective_at: e.at,
            already_revoked: false,
            mode: e.mode,
            in_flight_aborted: aborted.get(e.id) ?? 0,
          });
        else {
          revision = Math.max(revision, prev.revision);
          this.deps.state.alignRevoked(e.id, prev.revoked_at ?? e.at, prev.revoke_mode ?? e.mode);
          outcomes.push({
            id: e.id,
            status: 'revoked',
            effective_at: prev.revoked_at ?? e.at,
            already_revoked: true,
            mode: prev.revoke_mode ?? e.mode,
            in_flight_aborted: aborted.get(e.id) ?? 0,
          });
        }
      }
    }
    const fleet = outcomes.length
      ? await this.deps.fleet.confirm(revision)
      : { confirmed: [], unconfirmed: [], waited_ms: 0 };
    return { outcomes, not_found: notFound, fleet };
  }

  /** Keep writing what is pending until the store has it: backoff 100 ms → 2 s. */
  private kick(delay = Math.min(100 * 2 ** this.failures, 2_000)): void {
    if (this.timer || this.pending.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.write([...this.pending.values()]).then(
        () => {
          if (this.failures) this.deps.log.info('pending revokes written to the store', { pending: this.pending.size });
          this.failures = 0;
          this.kick();
        },
        (err) => {
          if (this.failures++ === 0) this.deps.log.error('pending revokes not yet written to the store; retrying', err);
          this.kick();
        },
      );
    }, delay);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
