import type { VendorFacts } from './playbooks.js';

/**
 * Rotating and revoking leak differently. A rotation at the vendor lets calls through for as
 * long as the vendor's edge keeps honouring the deleted key; a revoke at the proxy lets through
 * at most the requests already in flight when it lands.
 */
export interface LeakEstimate {
  vendor: string;
  rate_per_s: number;
  /** Null when nobody has measured the vendor's tail: the leak is unknown, never assumed small. */
  rotate: { median_s: number; p95_s: number; median_calls: number; p95_calls: number } | null;
  revoke: { max_calls: number; hard_max_calls: number };
}

/** Whole calls: a call is leaked only once it has started. The epsilon keeps 2.5 × 192 at 480. */
const calls = (ratePerS: number, seconds: number) => Math.floor(ratePerS * seconds + 1e-9);

export function estimateLeak(vendor: VendorFacts, ratePerS: number, inFlight = 1): LeakEstimate {
  const tail = vendor.rotation_latency_s;
  return {
    vendor: vendor.id,
    rate_per_s: ratePerS,
    rotate: tail && {
      median_s: tail.median,
      p95_s: tail.p95,
      median_calls: calls(ratePerS, tail.median),
      p95_calls: calls(ratePerS, tail.p95),
    },
    revoke: { max_calls: inFlight, hard_max_calls: 0 },
  };
}
