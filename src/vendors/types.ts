/**
 * One small interface for every vendor whose production key we create, delete or check.
 * What differs between vendors is data (each vendor's facts.ts); the adapter is the same shape for all.
 * Expected outcomes are values; an adapter throws only to abort (auth refused, vendor down).
 */
/** A vendor whose keys we manage: one of the registry's KEY_VENDOR_IDS. */
export type VendorId = string;

export interface VendorCapabilities {
  /** The vendor has an API that creates a new secret key. False: the step is guided (Stripe). */
  create: boolean;
  /** The vendor has an API that deletes (revokes) a key. */
  delete: boolean;
  /** A harmless call can prove a key works or is dead. */
  verify: boolean;
}

/** A key as the vendor sees it. `id` is what deleteKey takes; `secret` is shown only as `hint`. */
export interface CreatedKey {
  id: string;
  secret: string;
  /** `sk_live_…a1b2`: the only form of the secret that may be printed or journaled. */
  hint: string;
  /** Vendor extras worth recording (e.g. OpenAI's service-account id, Twilio's key SID). No secrets. */
  meta?: Record<string, string>;
}

/** What a probe authenticates with. Twilio API keys need their SID as well as the secret. */
export interface KeyCredential {
  secret: string;
  /** Twilio: the API key SID (SK…) or account SID (AC…) used as the Basic-auth user. */
  id?: string;
}

export type DeleteResult =
  | { status: 'deleted'; id: string }
  /**
   * The vendor answered 404. Not proof of anything by itself: the id may have a typo or belong to
   * another project. Only a caller that knows it deleted this id before may read it as done.
   */
  | { status: 'not-found'; id: string }
  /** No delete API (Stripe): the operator must do it by hand; `steps` says exactly where. */
  | { status: 'manual'; id: string; steps: string[] };

export interface ProbeResult {
  /** True when the vendor accepted the key (2xx); false when it refused it (401/403). */
  accepted: boolean;
  /** The HTTP status the vendor answered with. */
  status: number;
  ms: number;
}

/** One call an action would make, for --dry-run and the journal: no secrets, ever. */
export interface PlannedCall {
  method: string;
  url: string;
  /** What it does, in words. */
  what: string;
}

export type VendorAction = 'create' | 'delete' | 'probe';

export interface CreateKeyOptions {
  /** Name / friendly name recorded at the vendor: `tourniquet-<incident id>`, so the run can find it again. */
  name: string;
}

/** A key as the vendor lists it: never its secret. */
export interface ListedKey {
  id: string;
  name: string;
}

export interface VendorAdapter {
  readonly vendor: VendorId;
  readonly displayName: string;
  readonly capabilities: VendorCapabilities;
  /**
   * For a vendor without a create API: the exact place to create a key by hand, as lines of text.
   * For the others, one line saying what createKey will call.
   */
  guidance(): string[];
  /**
   * Create a new secret key, in one attempt: vendors do not honour idempotency keys on their
   * key APIs, so a retried create would make a second key. A failed or timed-out create may
   * still have made one; `listKeys` finds it by name. Throws a usage error when
   * capabilities.create is false.
   */
  createKey(opts: CreateKeyOptions): Promise<CreatedKey>;
  /** Every key (all pages) whose name starts with `prefix`, for vendors whose keys we create. */
  listKeys?(prefix: string): Promise<ListedKey[]>;
  /** Delete a key by its vendor id; an id the vendor does not know (404) is `not-found`, not an error. */
  deleteKey(id: string): Promise<DeleteResult>;
  /** A harmless authenticated call with the given key: proves it works, or proves it is dead. */
  probe(key: KeyCredential): Promise<ProbeResult>;
  /** The calls an action would make, for --dry-run. */
  plan(action: VendorAction, id?: string): PlannedCall[];
  /** Twilio only: auth-token rotation through a secondary token. */
  readonly authToken?: AuthTokenRotation;
  /** OpenAI only: delete a project API key (a key made in the dashboard, not by a service account). */
  deleteProjectKey?(id: string): Promise<DeleteResult>;
}

/** Twilio's auth-token rotation: make a secondary, switch consumers, promote it (the old primary dies). */
export interface AuthTokenRotation {
  createSecondary(): Promise<CreatedKey>;
  promote(): Promise<{ status: 'promoted'; hint: string }>;
  deleteSecondary(): Promise<DeleteResult>;
}

/**
 * Per-vendor settings, from the profile's `vendors.<id>` table (snake_case there) or flags.
 * Secrets are references (`env:NAME`, `file:PATH`), resolved by the factory.
 */
export interface VendorConfig {
  /** API base URL; defaults to the vendor's production URL (point it at a sandbox or staging). */
  baseUrl?: string;
  /** Reference to the admin credential: Twilio auth token or API-key secret, OpenAI admin key, Resend full-access key. */
  adminKeyRef?: string;
  /** Twilio: the account SID (AC…). */
  accountSid?: string;
  /** Twilio: Basic-auth user for admin calls when it is an API key SID (SK…) rather than the account SID. */
  adminKeySid?: string;
  /** Twilio: base URL of accounts.twilio.com (auth-token rotation). */
  accountsBaseUrl?: string;
  /** OpenAI: the project whose service accounts and keys we manage. */
  projectId?: string;
}
