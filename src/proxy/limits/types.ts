import type { LiveVaultKey } from '../state.js';
import type { Refusal } from '../policy.js';
import type { UsageTracker } from '../usage.js';

/** What `decide` reads of usage: the instance's own counters, or none when limits are fleet-wide. */
export type UsageView = Pick<UsageTracker, 'perMinute' | 'spentToday' | 'retryAfterS'>;

/** A call let through by the limits: what it holds until it is settled. */
export interface Ticket {
  keyId: string;
  /** Dollars set aside for a call whose amount was known up front (0 otherwise). */
  reservedUsd: number;
  /** Admitted without knowing what it will cost: counted while in flight (fleet.ts). */
  unknownCost: boolean;
  /** Daily cap applies (spend is counted against a lease). */
  capped: boolean;
  /** Charged against the daily cap if the call is forwarded and its cost is not learnt (estimate.ts). */
  estimateUsd: number | null;
  /** `METHOD /path` with ids collapsed: what the estimate of later calls learns from. */
  endpoint: string;
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; refusal: Refusal };

/**
 * Rate and spend limits for the data plane. Two kinds:
 * - local (one instance, the embedded store): exact, from this instance's counters (`decide` checks);
 * - fleet (a shared store): leases of budget and calls taken from the store (fleet.ts).
 * Every admitted call is settled (forwarded) or released (not forwarded) exactly once.
 */
export interface Limits {
  /** Given to `decide`: the counters it checks rate and spend against. */
  readonly view: UsageView;
  /** `endpoint`: `METHOD /path` with ids collapsed (endpointOf), what a call's cost is learnt by. */
  admit(key: LiveVaultKey, amountUsd: number | null, endpoint: string): Admission | Promise<Admission>;
  /**
   * The call was forwarded and has ended. Its cost, or null when it could not be metered: then
   * `ticket.estimateUsd` is charged (fail closed: an unmetered call is never free).
   */
  settle(ticket: Ticket, costUsd: number | null): void;
  /** The call was admitted but never forwarded: nothing is charged, what it held goes back. */
  release(ticket: Ticket): void;
  /** Budget held now in leases (metrics). */
  held(): { usd: number; calls: number };
  close(): Promise<void>;
}

/** `POST /v1/refunds`, `GET /v1/customers/*`: calls to one endpoint tend to cost alike. */
export function endpointOf(method: string, path: string): string {
  return `${method} ${path.replace(/\/[^/]*[0-9][^/]*/g, '/*')}`;
}
