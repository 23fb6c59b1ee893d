/**
 * The damage summary's data model. Every audit source (proxy API, PostgreSQL, SQLite, JSONL,
 * CSV, LiteLLM) produces the same Aggregate for the same rows and query; summarize() turns it
 * into the DamageSummary that every renderer prints. Times are epoch milliseconds, UTC.
 */

/** One audit row, normalised: the columns the summary needs, nothing else (no secrets). */
export interface AuditRow {
  started_at: number;
  finished_at: number | null;
  vault_key_id: string | null;
  agent_run_id: string | null;
  customer_scope_id: string | null;
  method: string | null;
  path: string | null;
  policy_verdict: string;
  cost_usd: number;
  /** A cost was written (0 included); false: none (null, empty, no column). */
  cost_known: boolean;
  /** Write-ahead audit (C6): the row's `outcome` is `pending` or `unknown`: forwarded, outcome never recorded. */
  outcome_unknown: boolean;
  /** `amount_usd_estimated`: what the call asked to move or was charged as an estimate; 0 when none. */
  estimate_usd: number;
}

/** Which rows to summarise. Bounds are epoch ms; `from` inclusive, `to` exclusive. */
export interface DamageQuery {
  from?: number;
  to?: number;
  vault_key_id?: string;
  agent_run_id?: string;
  customer_scope_id?: string;
  /** The moment the vault key was revoked, to count what got through after it. */
  revoked_at?: number;
}

export interface Counted {
  calls: number;
  /** Micro-dollars, summed as integers so every source adds up to the same figure. */
  cost_micros: number;
}

export interface BadRows {
  count: number;
  /** The first few line numbers (files) or row ids (databases) that could not be read. */
  first_lines: number[];
}

export interface AfterRevokeCounts {
  /** Started before the revoke, finished after it: already past the proxy when it landed. */
  in_flight: number | null;
  /** Started at or after the revoke. */
  later: number;
  /** Of `later`, the ones the proxy still allowed (should be zero after a revoke). */
  later_allowed: number;
}

/** What a source returns: raw aggregates, unsorted, keyed for merging. */
export interface Aggregate {
  calls_total: number;
  cost_micros: number;
  by_verdict: Map<string, number>;
  customers: Map<string | null, Counted>;
  endpoints: Map<string, Counted & { method: string | null; path: string | null }>;
  /** Minute index (epoch ms / 60000) → calls started in that minute. */
  per_minute: Map<number, number>;
  agent_runs: Map<string | null, Counted>;
  vault_keys: Map<string | null, Counted>;
  first_call: number | null;
  last_call: number | null;
  after_revoke: AfterRevokeCounts | null;
  bad_rows: BadRows;
  /** Allowed calls with no cost written (unknown cost); null when the source cannot tell. */
  cost_unknown_calls: number | null;
  /** Calls forwarded whose outcome was never recorded (C6), with their estimated amount. */
  outcome_unknown: { calls: number; estimated_micros: number };
}

/** One place to read audit rows from. The summary does not care which. */
export interface AuditSource {
  /** What to call this source in output: never a password or a token. */
  readonly label: string;
  aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate>;
  close?(): Promise<void>;
}

export interface MinuteCount {
  minute: string;
  calls: number;
}

export interface CustomerDamage {
  customer_scope_id: string | null;
  calls: number;
  cost_usd: number;
}

export interface EndpointDamage {
  method: string | null;
  path: string | null;
  calls: number;
  cost_usd: number;
}

/** The summary every renderer prints and `--json` emits. Times are ISO-8601 UTC. */
export interface DamageSummary {
  source: string;
  filter: { vault_key_id?: string; agent_run_id?: string; customer_scope_id?: string };
  window: { from: string | null; to: string | null };
  empty: boolean;
  calls_total: number;
  by_verdict: Record<string, number>;
  calls_allowed: number;
  cost_usd: number;
  customers: CustomerDamage[];
  endpoints: EndpointDamage[];
  per_minute: MinuteCount[];
  baseline_per_minute: number | null;
  anomaly_start: string | null;
  first_call: string | null;
  last_call: string | null;
  agent_runs: { agent_run_id: string | null; calls: number; cost_usd: number }[];
  vault_keys: { vault_key_id: string | null; calls: number; cost_usd: number }[];
  after_revoke: (AfterRevokeCounts & { revoked_at: string }) | null;
  bad_rows: BadRows;
  /**
   * Allowed calls whose cost was not recorded: `cost_usd` leaves them out, so it is a lower
   * bound. `share` of the allowed calls (0 to 1). Null when the source cannot tell.
   */
  cost_unknown: { calls: number; share: number } | null;
  /**
   * Calls forwarded to the vendor whose outcome was never recorded (the proxy died or its store
   * failed mid-call): not proven either way; `amount_usd_estimated` sums what they asked to move
   * or were charged as an estimate. Not in `cost_usd`.
   */
  outcome_unknown: { calls: number; amount_usd_estimated: number };
}
