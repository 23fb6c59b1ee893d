import type { Route } from './schemas.js';

/**
 * The TypeScript side of schemas.ts: what each route's 2xx answer is once its schema check has
 * passed. Fields a schema requires are required here; the rest are optional. Whoever changes a
 * schema changes its type here in the same commit (contract C4).
 */
type Nullable<T> = T | null;

export interface VaultKeyView {
  id: string;
  vendor: string;
  status: string;
  upstream_key_id?: Nullable<string>;
  agent_run_id?: Nullable<string>;
  expires_at?: Nullable<string>;
  allowed_endpoints?: Nullable<string[]>;
  labels?: Nullable<Record<string, string>>;
  daily_usd_cap?: Nullable<number>;
  per_call_amount_cap?: Nullable<number>;
  calls_per_minute?: Nullable<number>;
  customer_id_path?: Nullable<string>;
}

interface Issued extends Omit<VaultKeyView, 'status' | 'expires_at'> {
  secret: string;
  status?: string;
  expires_at: Nullable<string>;
  rolled_from?: Nullable<string>;
}

export interface UpstreamKey {
  id: string;
  vendor: string;
  state: 'active' | 'standby' | 'retired';
  hint: string;
  label?: Nullable<string>;
}

export interface AuditRow {
  started_at: string;
  finished_at?: Nullable<string>;
  vault_key_id: Nullable<string>;
  agent_run_id?: Nullable<string>;
  customer_scope_id?: Nullable<string>;
  upstream_key_id?: Nullable<string>;
  policy_verdict: string;
  vendor_status?: Nullable<number>;
  cost_usd_parsed?: Nullable<number>;
  method?: string;
  path?: string;
}

type CountCost<K extends string> = { [key in K]: Nullable<string> } & { calls: number; cost_usd: number };

export interface AuditSummary {
  calls_total: number;
  calls_allowed: number;
  by_verdict: Record<string, number>;
  cost_usd: number;
  customers: CountCost<'customer_scope_id'>[];
  endpoints: { method: Nullable<string>; path: Nullable<string>; calls: number; cost_usd: number }[];
  per_minute: { minute: string; calls: number }[];
  agent_runs?: CountCost<'agent_run_id'>[];
  vault_keys?: CountCost<'vault_key_id'>[];
  first_call?: Nullable<string>;
  last_call?: Nullable<string>;
  /** C6: forwarded calls whose outcome was never recorded. */
  outcome_unknown: { calls: number; amount_usd_estimated: number; pending?: number };
  /** Allowed calls with no cost recorded (absent from an older proxy). */
  calls_cost_unknown?: number;
  /** Asked for with `revoked_at`: from the same snapshot as the rest (absent from an older proxy). */
  after_revoke?: { later: number; later_allowed: number; in_flight: number };
}

export interface RateRow {
  vault_key_id: string;
  agent?: Nullable<string>;
  agent_run_id?: Nullable<string>;
  vendor: string;
  status: string;
  calls_per_minute: number;
  baseline_per_minute: number;
  spend_usd_10m?: number;
}

interface Instance {
  instance_id: string;
  data_plane_url: string;
  admin_url: string;
  last_sync_at?: Nullable<string>;
}

/** Who made a change, when the proxy names the scoped admin token (`by`); schemas allow extra fields. */
interface By {
  by?: unknown;
}

/** Route → its answer once the route's schema check passed. */
export interface RouteAnswers {
  'POST /v1/vault-keys': Issued;
  'GET /v1/vault-keys': { data: VaultKeyView[] };
  'GET /v1/vault-keys/{id}': VaultKeyView;
  'DELETE /v1/vault-keys/{id}': By & {
    id: string;
    status: 'revoked';
    effective_at: string;
    already_revoked: boolean;
    durable?: boolean;
    fleet?: { confirmed: string[]; unconfirmed: string[]; waited_ms?: number };
  };
  'POST /v1/vault-keys/revoke-all': By & {
    revoked: string[];
    already_revoked?: string[];
    effective_at: string;
    durable?: boolean;
  };
  'POST /v1/vault-keys/{id}/roll': Issued;
  'GET /v1/vault-keys/{id}/verdict': { instance_id: string; vault_key_id: string; refused: boolean; verdict: string };
  'GET /v1/upstream-keys': { data: UpstreamKey[] };
  'POST /v1/upstream-keys': UpstreamKey;
  'POST /v1/upstream-keys/{id}/promote': UpstreamKey;
  'POST /v1/upstream-keys/{id}/retire': UpstreamKey;
  'POST /v1/upstream-keys/{id}/check': { works: boolean; vendor_status: number };
  'GET /v1/audit': { data: AuditRow[]; next_cursor: Nullable<string> };
  'GET /v1/audit/summary': AuditSummary;
  'GET /v1/rates': { data: RateRow[] };
  'GET /v1/health': { status: string; instance_id: string; data_plane_url?: string; admin_url?: string };
  'GET /v1/instances': { data: Instance[] };
}

export type RouteAnswer<R extends Route> = RouteAnswers[R];
