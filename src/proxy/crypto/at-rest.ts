import { TourniquetError, usageError } from '../../core/errors.js';
import type { ProxyStore } from '../store/types.js';
import { isSealedSecretStore, type SealedSecretStore, type SecretsAtRest } from '../store/sealed-columns.js';
import type { RequestLog } from '../log.js';
import { SecretSealer, type OpenFailure } from './sealer.js';
import { describeSource, wrongMasterKey, type MasterKeyring } from './master-key.js';

/**
 * Production keys at rest for one proxy: attaches the sealer to the store, seals what an
 * earlier version left in plain text, checks at start that every stored key opens, and
 * rotates the master key (re-wraps every data key; no vendor call, nothing stops serving).
 */
export class KeysAtRest {
  readonly sealer: SecretSealer;
  /** Null for the in-memory store: nothing it holds is ever at rest, so there is nothing to seal. */
  private readonly store: (ProxyStore & SealedSecretStore) | null;

  private constructor(
    store: ProxyStore,
    readonly ring: MasterKeyring | null,
    log: RequestLog,
  ) {
    this.sealer = new SecretSealer(ring, (f: OpenFailure) =>
      log.error('a stored production key does not open with this master key', `${f.id}: ${f.reason} (${f.kid})`),
    );
    if (isSealedSecretStore(store)) {
      this.store = store;
      store.useSealer(this.sealer);
    } else if (store.kind === 'memory') this.store = null;
    else
      throw usageError(
        `the ${store.kind} store cannot keep production keys sealed`,
        'use the sqlite or postgres store',
      );
  }

  /** Before the store's records are read: attach, then seal an earlier version's plain text. */
  static async attach(store: ProxyStore, ring: MasterKeyring | null, log: RequestLog): Promise<KeysAtRest> {
    const k = new KeysAtRest(store, ring, log);
    if (!k.store) return k;
    const rest = await k.store.secretsAtRest();
    if (rest.plaintext > 0) {
      if (!ring)
        throw usageError(
          `the store holds ${rest.plaintext} production key(s) in plain text, written by an earlier version, and this proxy was given no master key`,
          'start it with a master key (--master-key-file, --master-key-command or TOURNIQUET_MASTER_KEY): it encrypts them at start',
        );
      const n = await k.store.sealPlaintextSecrets();
      log.info('sealed production keys an earlier version stored in plain text', {
        count: n,
        master_key_id: ring.current.id,
      });
    }
    return k;
  }

  /** After the first full load: every stored key must have opened, or the start fails (exit 2 or 3). */
  checkOpened(): void {
    const failures = this.sealer.takeFailures();
    if (!failures.length) return;
    const needed = [...new Set(failures.map((f) => f.kid))];
    const err = wrongMasterKey(needed, this.ring, failures.length);
    if (this.ring && failures.every((f) => f.reason === 'does_not_open'))
      throw new TourniquetError(
        'auth',
        `${failures.length} stored production key(s) do not open with master key ${needed.join(', ')} although the id matches: the rows were altered or the key file is damaged`,
        { hint: err.hint },
      );
    throw err;
  }

  async status(): Promise<SecretsAtRest & { master_key_id: string | null; source: string | null; held: string[] }> {
    const rest = this.store ? await this.store.secretsAtRest() : { plaintext: 0, by_master_key: {}, current: null };
    return {
      ...rest,
      master_key_id: this.ring?.current.id ?? null,
      source: this.ring?.source ? describeSource(this.ring.source) : null,
      held: this.ring?.ids() ?? [],
    };
  }

  /** Re-read the key source (SIGHUP); the first key it lists becomes current for new data keys. */
  async reload(): Promise<boolean> {
    return this.ring ? this.ring.refresh() : false;
  }

  /**
   * Rotation: read the source again, then re-wrap every data key not under its first key, a batch
   * per transaction with the event loop free in between: agents are served from memory and their
   * audit rows keep flowing, so nothing fails while it runs. Every row opens with the old key or
   * the new one at every moment, and the store's current key is the new one from the first batch.
   */
  async rotate(): Promise<{ master_key_id: string; rewrapped: number; previous: string[] }> {
    if (!this.ring) throw new RotateError('this proxy has no master key to rotate');
    if (!this.store) throw new RotateError('the in-memory store keeps no production key at rest: nothing to re-wrap');
    await this.ring.refresh();
    const store = this.store;
    const before = await store.secretsAtRest();
    let rewrapped = 0;
    const total = Object.values(before.by_master_key).reduce((a, b) => a + b, 0);
    // (a bounded number of passes: rows changed under a pass are taken by the next one)
    for (let pass = 0, n = -1; n !== 0 && pass < total / REWRAP_BATCH + 10; pass++, rewrapped += n) {
      n = await store.rewrapSecrets(REWRAP_BATCH);
      await new Promise((r) => setImmediate(r));
    }
    const current = this.ring.current.id;
    return {
      master_key_id: current,
      rewrapped,
      previous: Object.keys(before.by_master_key).filter((k) => k !== current),
    };
  }
}

export class RotateError extends Error {}

/** Data keys re-wrapped per transaction: a few milliseconds of work, well under the fleet's stall bound (100 ms). */
const REWRAP_BATCH = 50;
