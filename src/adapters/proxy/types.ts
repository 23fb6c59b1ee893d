import { TourniquetError } from '../../core/errors.js';

/**
 * One small interface for every proxy that can hold vault keys in front of a vendor:
 * ours (`tourniquet proxy serve`), LiteLLM's virtual keys, or an in-house proxy driven by
 * configured commands. What each one can do is data (`capabilities`), so a step that needs
 * something a proxy lacks fails with a clear message instead of pretending.
 *
 * Expected outcomes are values (`revoked` / `already-revoked` / `not-found`); exceptions are
 * for aborting (network, auth, a body of the wrong shape).
 */
export type RevokeOutcome =
  | { status: 'revoked'; vault_key_id: string; effective_at: string; by?: string }
  | { status: 'already-revoked'; vault_key_id: string; effective_at: string; by?: string }
  | { status: 'not-found'; vault_key_id: string };

export interface VaultKeySummary {
  id: string;
  vendor: string;
  status: string; // 'active' | 'revoked' | 'blocked' | ...
  upstream_key_id: string | null;
  agent_run_id: string | null;
  expires_at: string | null;
  /** The policy fields, as the proxy reports them (for re-issuing with the same policy). */
  policy: Record<string, unknown>;
}

export interface IssueSpec {
  vendor: string;
  daily_usd_cap?: number;
  per_call_amount_cap?: number;
  calls_per_minute?: number;
  allowed_endpoints?: string[];
  expires_in?: string;
  agent_run_id?: string;
  upstream_key_id?: string;
  labels?: Record<string, string>;
}

/** A freshly made vault key: the secret exists only in this value (and once on the operator's screen). */
export interface IssuedKey {
  id: string;
  secret: string;
  vendor: string;
  expires_at: string | null;
  rolled_from?: string;
}

export interface ProxyInstance {
  instance_id: string;
  data_plane_url: string;
  /** This instance's own admin API (its in-memory state answers probes); absent: the configured one. */
  admin_url?: string;
  /**
   * Why this instance's admin URL is not trusted with the admin token (adapters/proxy/trust.ts),
   * if it is not: it is reported, counts as not verified, and is never asked.
   */
  untrusted?: string;
  /** Why its data-plane URL is not trusted with a vault key's secret, if it is not. */
  data_plane_untrusted?: string;
}

/** One instance's answer to "would you serve this vault key now?". */
export interface InstanceProbe {
  instance_id: string;
  /** True only when the instance explicitly answered that it refuses the key. */
  refused: boolean;
  /** The refusal code the instance gave (`vault_key_revoked`), or why there is no proof. */
  code: string;
  /** Asking again cannot change the answer (an untrusted instance): stop polling it. */
  final?: boolean;
}

export interface UpstreamKeySummary {
  id: string;
  vendor: string;
  state: string; // 'active' | 'standby' | 'retired'
  hint: string;
  label: string | null;
}

export interface AuditRowSummary {
  started_at: string;
  vault_key_id: string | null;
  upstream_key_id: string | null;
  policy_verdict: string;
  vendor_status: number;
  method: string;
  path: string;
}

export interface ProxyCapabilities {
  /** Cuts requests already in flight. */
  hardRevoke: boolean;
  revokeAllUnder: boolean;
  issue: boolean;
  roll: boolean;
  /** Can say per instance whether a vault key is refused. */
  probe: boolean;
  /** Holds production keys and can switch them (standby → active → retired). */
  upstreamKeys: boolean;
  audit: boolean;
}

export interface ProxyAdapter {
  readonly kind: string;
  readonly capabilities: ProxyCapabilities;
  /** The call an operation would make, for --dry-run and the journal: `DELETE https://…/v1/vault-keys/vk_1`. */
  describe(op: string, args?: Record<string, string | undefined>): string;

  revokeVaultKey(id: string, opts: { hard: boolean; reason?: string }): Promise<RevokeOutcome>;
  /** Revoke every active vault key under a production key or a vendor, in one call where the proxy can. */
  revokeAllUnder(
    filter: { upstream_key_id?: string; vendor?: string },
    opts: { hard: boolean; reason?: string },
  ): Promise<RevokeOutcome[]>;
  listVaultKeys(filter: { vendor?: string; upstream_key_id?: string; status?: string }): Promise<VaultKeySummary[]>;
  getVaultKey(id: string): Promise<VaultKeySummary | undefined>;
  issueVaultKey(spec: IssueSpec): Promise<IssuedKey>;
  rollVaultKey(id: string, opts: { revokeOld: boolean }): Promise<IssuedKey>;

  instances(): Promise<ProxyInstance[]>;
  probeVaultKey(id: string, instance: ProxyInstance): Promise<InstanceProbe>;

  listUpstreamKeys(vendor?: string): Promise<UpstreamKeySummary[]>;
  addUpstreamKey(input: {
    vendor: string;
    secret: string;
    label?: string;
    account_sid?: string;
  }): Promise<UpstreamKeySummary>;
  promoteUpstreamKey(id: string): Promise<UpstreamKeySummary>;
  retireUpstreamKey(id: string): Promise<UpstreamKeySummary>;
  audit(filter: { vault_key_id?: string; vendor?: string; from?: string }): Promise<AuditRowSummary[]>;
}

/** Thrown (as a step failure) when a proxy kind cannot do what a step needs. */
export function unsupported(kind: string, what: string): TourniquetError {
  return new TourniquetError('step-failed', `the ${kind} proxy adapter cannot ${what}`, {
    hint: 'do this step by hand at the proxy, or use a proxy kind that supports it (proxy_kind: tourniquet)',
  });
}

/** An adapter method this proxy does not have: a rejected promise (callers await every method), not a throw. */
export const unsupportedCall = (kind: string, what: string) => (): Promise<never> =>
  Promise.reject(unsupported(kind, what));
