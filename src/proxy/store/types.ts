/**
 * The one narrow interface between the proxy and its durable state.
 *
 * Two implementations: SQLite (one instance, the default; `store/sqlite.ts`) and PostgreSQL
 * (several instances; issue 4). The proxy keeps the policy state it decides on in memory and
 * only asks the store to (a) persist every change before the admin call that made it returns,
 * (b) persist a call's audit row (its intent) before the call is forwarded to the vendor, then
 * complete it with the outcome, and (c) tell it what changed since a revision, so another
 * instance's revoke reaches this instance's memory.
 *
 * Rules every implementation keeps:
 * - Every write is durable when its promise resolves (a SIGKILL after that loses nothing).
 * - Every method is safe to call concurrently; writes that change vault or upstream keys
 *   bump a single monotonically increasing `revision` in the same transaction.
 * - Times are ISO-8601 UTC strings with milliseconds (`2026-11-22T02:14:00.000Z`), so they
 *   compare correctly as strings.
 * - Secrets: a vault key is stored only as the SHA-256 hex of its secret. An upstream
 *   (production) key's secret is stored only when it was added through the admin API;
 *   keys named in the config file keep `secret: null` and are re-read at start.
 */

export type VendorId = string; // 'stripe' | 'openai' | 'twilio' | 'resend' | 'generic' | a configured one

export type VaultKeyStatus = 'active' | 'revoked';

export interface VaultKeyPolicy {
  /** `METHOD /path` patterns; `*` matches one path segment, `**` the rest. Null: all; empty: none. */
  allowed_endpoints: string[] | null;
  daily_usd_cap: number | null;
  per_call_amount_cap: number | null;
  calls_per_minute: number | null;
  /** Where the customer id sits in a request (`body.customer`, `query.customer`, `header.x-customer-id`, `path.3`); null: the vendor default. */
  customer_id_path: string | null;
}

export interface VaultKeyRecord extends VaultKeyPolicy {
  id: string;
  /** SHA-256 hex of the secret; the secret itself is never stored. */
  secret_hash: string;
  /** Last four characters of the secret, for people to recognise it (`vk_…a1b2`). */
  secret_hint: string;
  vendor: VendorId;
  /** Pin to one production key; null follows the vendor's active key. */
  upstream_key_id: string | null;
  agent_run_id: string | null;
  labels: { agent?: string; owner?: string };
  status: VaultKeyStatus;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** 'soft' or 'hard' once revoked. */
  revoke_mode: 'soft' | 'hard' | null;
  /** The key this one was rolled from, if any. */
  rolled_from: string | null;
}

export interface VaultKeyFilter {
  vendor?: string;
  status?: VaultKeyStatus;
  agent?: string;
  agent_run_id?: string;
  upstream_key_id?: string;
  ids?: string[];
}

export type UpstreamKeyState = 'active' | 'standby' | 'retired';

export interface UpstreamKeyRecord {
  id: string;
  vendor: VendorId;
  state: UpstreamKeyState;
  /** Redacted hint (`sk_live_…a1b2`), never the secret. */
  hint: string;
  label: string | null;
  /** Twilio: the Account SID or API key SID that goes in front of the secret in Basic auth. */
  account_sid: string | null;
  /** Null when the secret comes from the config file (file or env) rather than the admin API. */
  secret: string | null;
  created_at: string;
  updated_at: string;
}

export type PolicyVerdict =
  | 'allowed'
  | 'vault_key_missing'
  | 'vault_key_unknown'
  | 'vault_key_revoked'
  | 'vault_key_expired'
  | 'endpoint_not_allowed'
  | 'spend_cap_exceeded'
  | 'rate_limited'
  | 'request_too_large'
  | 'upstream_unavailable'
  | 'aborted_hard_revoke'
  /** The vault key also sat in the URL or body, where it would have reached the vendor. */
  | 'vault_key_in_payload'
  /** The call's intent row could not be made durable, so it was not forwarded. */
  | 'store_unavailable';

/**
 * Whether a row's outcome is known. A forwarded call's row is written as `pending` before the
 * call leaves for the vendor (write-ahead) and becomes `complete` when the vendor's answer is
 * recorded; a row left `pending` by an instance that died (or could not write the outcome) is
 * marked `unknown`: forwarded, outcome unknown. Refusals are written `complete` at once.
 */
export type AuditOutcomeState = 'pending' | 'complete' | 'unknown';

/** One row of `agent_call_audit`: one call that reached the proxy. */
export interface AuditRow {
  /** Assigned by the store (monotonic within one store); absent when appending. */
  id?: number;
  /** Unique per call (`<instance_id>.<n>`); how an outcome finds its intent row. Null on rows from before write-ahead. */
  call_id?: string | null;
  /** Absent when appending: `complete`. */
  outcome?: AuditOutcomeState;
  /** What the request asked to move (USD), when the vendor module can tell before the call. */
  amount_usd_estimated?: number | null;
  started_at: string;
  finished_at: string;
  vault_key_id: string | null;
  agent_run_id: string | null;
  customer_scope_id: string | null;
  vendor: string | null;
  method: string;
  /** Path without query string and without the `/VENDOR/` prefix. */
  path: string;
  policy_verdict: PolicyVerdict;
  /** The vendor's HTTP status; 0 when the call was not forwarded or got no answer. */
  vendor_status: number;
  cost_usd_parsed: number | null;
  upstream_key_id: string | null;
  latency_ms: number;
  instance_id: string;
}

/** What completes a pending row once the vendor has answered (or the call ended without an answer). */
export interface AuditOutcome {
  call_id: string;
  finished_at: string;
  policy_verdict: PolicyVerdict;
  vendor_status: number;
  cost_usd_parsed: number | null;
  latency_ms: number;
}

export interface AuditFilter {
  vault_key_id?: string;
  agent_run_id?: string;
  customer_scope_id?: string;
  verdict?: string;
  vendor?: string;
  /** Inclusive lower bound on started_at. */
  from?: string;
  /** Exclusive upper bound on started_at. */
  to?: string;
}

export interface AuditPage {
  data: AuditRow[];
  /** Opaque; pass back as `cursor` for the next page. Null on the last page. */
  next_cursor: string | null;
}

export interface CountCost {
  calls: number;
  cost_usd: number;
}

/** Aggregates for `GET /v1/audit/summary`; the damage summary (issue 6) reads exactly this. */
export interface AuditSummary {
  calls_total: number;
  by_verdict: Record<string, number>;
  calls_allowed: number;
  cost_usd: number;
  customers: Array<{ customer_scope_id: string | null } & CountCost>;
  endpoints: Array<{ method: string; path: string } & CountCost>;
  /**
   * Every call per minute; `cost_usd` and `calls_cost_unknown`: the allowed calls' cost that minute
   * and how many of them have no cost recorded (so `cost_usd` is a lower bound for that minute).
   */
  per_minute: Array<{ minute: string; calls: number; cost_usd: number; calls_cost_unknown: number }>;
  first_call: string | null;
  last_call: string | null;
  agent_runs: Array<{ agent_run_id: string | null } & CountCost>;
  vault_keys: Array<{ vault_key_id: string | null } & CountCost>;
  /** Allowed calls with no cost recorded (unknown cost): `cost_usd` leaves them out. */
  calls_cost_unknown: number;
  /**
   * Forwarded calls whose outcome was never recorded (`outcome` pending or unknown): they may
   * have moved money. `amount_usd_estimated` sums what they asked to move, where known;
   * `pending` counts those still pending (in flight, or on an instance not yet known dead).
   */
  outcome_unknown: { calls: number; amount_usd_estimated: number; pending: number };
  /**
   * Asked for with a revoke time (`revoked_at`), read in the same snapshot as the rest: calls
   * started at or after it (`later`, of them `later_allowed`), and calls started before it that
   * finished after it (`in_flight`).
   */
  after_revoke?: { later: number; later_allowed: number; in_flight: number };
}

/** What changed since a revision: whole records, so applying them is idempotent. */
export interface ChangeSet {
  revision: number;
  vault_keys: VaultKeyRecord[];
  upstream_keys: UpstreamKeyRecord[];
}

export interface InstanceInfo {
  instance_id: string;
  data_plane_url: string;
  admin_url: string;
  started_at: string;
  last_sync_at: string;
  /** The store revision this instance's memory had reached at its last heartbeat. */
  revision?: number;
}

export interface RevokeResult {
  /** Newly revoked by this call. */
  revoked: string[];
  /** Already revoked before this call (idempotent repeat). */
  already_revoked: string[];
  /** Ids that do not exist. */
  not_found: string[];
  /** The revision the revoke committed at (when it revoked something). */
  revision?: number;
  /** For ids already revoked: when and how, as the store has it, and the revision that did it. */
  previous?: Record<string, { revoked_at: string | null; revoke_mode: 'soft' | 'hard' | null; revision: number }>;
}

export interface ProxyStore {
  /** 'sqlite' | 'postgres'. */
  readonly kind: string;
  /** Create the schema if needed. Called once before anything else. */
  init(): Promise<void>;
  /** Flush and release; no call after this. */
  close(): Promise<void>;

  // --- vault keys -------------------------------------------------------------------------
  insertVaultKey(rec: VaultKeyRecord): Promise<void>;
  getVaultKey(id: string): Promise<VaultKeyRecord | undefined>;
  listVaultKeys(filter: VaultKeyFilter): Promise<VaultKeyRecord[]>;
  /** Mark keys revoked (keeps the records). One transaction; already revoked keys keep their first revoked_at. */
  revokeVaultKeys(ids: string[], at: string, mode: 'soft' | 'hard'): Promise<RevokeResult>;
  /** Roll: insert `next` (same policy, new secret) and, if `revokeOld`, revoke `oldId`, in one transaction; the revision it committed at. */
  rollVaultKey(oldId: string, next: VaultKeyRecord, revokeOld: boolean, at: string): Promise<number>;

  // --- upstream (production) keys -----------------------------------------------------------
  insertUpstreamKey(rec: UpstreamKeyRecord): Promise<void>;
  listUpstreamKeys(filter: { vendor?: string }): Promise<UpstreamKeyRecord[]>;
  /** Make `id` the vendor's active key; the vendor's previously active keys become standby. One transaction. */
  promoteUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined>;
  /** Retire `id`: never used again (kept for history). */
  retireUpstreamKey(id: string, at: string): Promise<UpstreamKeyRecord | undefined>;

  // --- audit ------------------------------------------------------------------------------
  /**
   * Insert `rows` and complete `outcomes` (of rows written earlier) in one durable transaction
   * (group commit); resolves when all are durable. Idempotent: a row whose `call_id` is already
   * there is skipped, so a batch retried after a lost acknowledgement is not written twice.
   */
  appendAudit(rows: AuditRow[], outcomes?: AuditOutcome[]): Promise<void>;
  queryAudit(filter: AuditFilter, limit: number, cursor: string | null): Promise<AuditPage>;
  /**
   * Every figure from one read snapshot: rows committed while it runs are in none of them, so
   * the summary cannot disagree with itself. With `revokedAt` (ISO), also `after_revoke`.
   */
  summarizeAudit(filter: AuditFilter, revokedAt?: string): Promise<AuditSummary>;
  /** Allowed spend per vault key since `from` (daily caps survive a restart). */
  spendByVaultKey(from: string): Promise<Map<string, number>>;
  /** Calls per vault key in [from, to) (the `/v1/rates` baseline). */
  callsByVaultKey(from: string, to: string): Promise<Map<string, number>>;

  // --- state sync (several instances) --------------------------------------------------------
  /** The current revision: bumped by every vault- or upstream-key change. */
  revision(): Promise<number>;
  /** Records changed after `revision` (0: everything), and the revision they bring you to. */
  changesSince(revision: number): Promise<ChangeSet>;
  /**
   * Called with a new revision whenever another writer changed state (PostgreSQL: LISTEN/NOTIFY).
   * SQLite has a single writer, so its subscription never fires. Returns an unsubscribe function.
   */
  onChange(listener: (revision: number) => void): () => void;
  /** Record this instance as alive (and its last sync). */
  heartbeat(info: InstanceInfo): Promise<void>;
  listInstances(): Promise<InstanceInfo[]>;
  /** Mark `pending` rows of instances that are gone as `unknown`; returns how many. */
  sweepOutcomes(selfId: string): Promise<number>;
}

/**
 * A shared store (PostgreSQL) also carries acknowledgements: each instance says which revision
 * (or which revoke hint) it has applied, so the instance taking a revoke can wait until every
 * live instance refuses the key.
 */
export interface AckingStore {
  ack(instanceId: string, revision: number, hintOnly: boolean): Promise<void>;
  onAck(listener: (ack: { instance_id: string; revision: number; hint: boolean }) => void): () => void;
}

/** Why the store could not do what was asked (health reports it; disk_full has its own status). */
export type StoreFailure = 'disk_full' | 'busy' | 'timeout' | 'unavailable';

/** Raised by a store when it cannot reach or write its database; the proxy answers 503 `store_unavailable`. */
export class StoreUnavailableError extends Error {
  readonly reason: StoreFailure;
  constructor(message: string, options?: { cause?: unknown; reason?: StoreFailure }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.reason = options?.reason ?? 'unavailable';
  }
}
