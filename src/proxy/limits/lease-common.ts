import type { Refusal } from '../policy.js';

export interface LeaseOptions {
  /** How long a grant of calls may be used (v in the bound). Default 2 s. */
  callLeaseMs?: number;
  /** The longest a grant may take from the store before the call is refused (fail closed). Default 1 s. */
  grantTimeoutMs?: number;
  /** Unused dollars go back after this long without a call on the key. Default 2 s. */
  idleReturnMs?: number;
  /** Share of the daily cap asked for at a time. Default 5 %. */
  usdSlice?: number;
  /** Near the cap, how long a call may wait for the cost of calls in flight. Default 10 s. */
  settleWaitMs?: number;
}

/** A capped call of unknown cost to an endpoint never seen to settle goes alone: another is in flight. */
export const aloneRefusal = (): Refusal => ({
  stage: 'usage',
  status: 429,
  code: 'rate_limited',
  message:
    'the first call to this endpoint on this instance is still in flight (its cost is not known yet, and a daily cap applies); retry',
  headers: { 'retry-after': '1' },
});

export const LEASE_DEFAULTS: Required<LeaseOptions> = {
  callLeaseMs: 2_000,
  grantTimeoutMs: 1_000,
  idleReturnMs: 2_000,
  usdSlice: 0.05,
  settleWaitMs: 10_000,
};

/**
 * `p`, or an error after `ms`. `late` gets what `p` brings if it arrives after the deadline: a grant
 * the store made but the caller gave up on must be given back, or it would count against the limit.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, late?: (value: T) => void): Promise<T> {
  let timedOut = false;
  if (late)
    p.then(
      (v) => timedOut && late(v),
      () => {},
    );
  let timer: NodeJS.Timeout;
  const deadline = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(
        () => ((timedOut = true), reject(new Error(`no answer from the store within ${ms} ms`))),
        ms,
      )),
  );
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

/** The store could not grant: fail closed, nothing beyond the leases already held. */
export function storeRefusal(what: string, err: unknown): Refusal {
  return {
    stage: 'usage',
    status: 503,
    code: 'store_unavailable',
    message: `cannot take a fleet-wide ${what} lease from the store (${(err as Error)?.message ?? err}); not forwarded, retry shortly`,
    headers: { 'retry-after': '1' },
  };
}
