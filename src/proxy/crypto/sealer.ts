import { open, rewrap, seal, type Sealed } from './envelope.js';
import type { MasterKey, MasterKeyring } from './master-key.js';

/** No master key was given, so a production key cannot be stored (never in plain text). */
export class MasterKeyMissingError extends Error {
  constructor() {
    super('this proxy has no master key, so it cannot store production keys (they are never stored in plain text)');
    this.name = 'MasterKeyMissingError';
  }
}

/** The store moved on to a master key this proxy does not hold (a rotation by another instance). */
export class MasterKeyOutdatedError extends Error {
  constructor(readonly needed: string) {
    super(`the store's production keys are now wrapped by master key ${needed}, which this instance does not hold`);
    this.name = 'MasterKeyOutdatedError';
  }
}

export interface OpenFailure {
  id: string;
  kid: string;
  reason: 'unknown_master_key' | 'does_not_open';
}

/**
 * Seals and opens production keys for a store. What it opened is remembered by ciphertext, so
 * a row whose data key was re-wrapped under a master key this instance has not loaded yet
 * still opens: a rotation never needs every instance to have the new key at the same moment.
 */
export class SecretSealer {
  private readonly opened = new Map<string, string>();
  /** Rows that did not open since the last `takeFailures()`. */
  private failures: OpenFailure[] = [];

  constructor(
    readonly ring: MasterKeyring | null,
    private readonly onFailure: (f: OpenFailure) => void = () => {},
  ) {}

  /** The key new data keys are wrapped with: the store's current one when this keyring has it. */
  wrappingKey(storeKid: string | null): MasterKey {
    if (!this.ring) throw new MasterKeyMissingError();
    if (!storeKid || storeKid === this.ring.current.id) return this.ring.current;
    const k = this.ring.get(storeKid);
    if (!k) throw new MasterKeyOutdatedError(storeKid);
    return k;
  }

  /** Re-read the key source when the store names a key this keyring lacks. */
  async prepare(storeKid: string | null): Promise<void> {
    if (this.ring && storeKid && !this.ring.get(storeKid)) await this.ring.refresh().catch(() => false);
  }

  seal(id: string, vendor: string, secret: string, storeKid: string | null): Sealed {
    const s = seal(secret, id, vendor, this.wrappingKey(storeKid));
    this.opened.set(s.ct, secret);
    return s;
  }

  /** The secret, or null (recorded as a failure) when no key this proxy holds opens it. */
  open(id: string, vendor: string, s: Sealed): string | null {
    const known = this.opened.get(s.ct);
    if (known !== undefined) return known;
    const key = this.ring?.get(s.kid);
    if (!key) return this.fail({ id, kid: s.kid, reason: 'unknown_master_key' });
    try {
      const secret = open(s, id, vendor, key);
      this.opened.set(s.ct, secret);
      return secret;
    } catch {
      return this.fail({ id, kid: s.kid, reason: 'does_not_open' });
    }
  }

  /** Under the current master key, or null when it already is. Throws when the old key is missing. */
  rewrap(id: string, s: Sealed): Sealed | null {
    if (!this.ring) throw new MasterKeyMissingError();
    const to = this.ring.current;
    if (s.kid === to.id) return null;
    const from = this.ring.get(s.kid);
    if (!from) throw new MasterKeyOutdatedError(s.kid);
    return rewrap(s, id, from, to);
  }

  takeFailures(): OpenFailure[] {
    return this.failures.splice(0);
  }

  private fail(f: OpenFailure): null {
    this.failures.push(f);
    this.onFailure(f);
    return null;
  }
}
