/** The anomaly rule: a minute above this many times the baseline before it. */
export const ANOMALY_FACTOR = 5;
/** Baseline window: the mean of at most this many minutes before the one being judged. */
export const BASELINE_MINUTES = 60;
/** A baseline below one call a minute counts as one, so a quiet agent's first few calls are not an "anomaly". */
export const BASELINE_FLOOR = 1;

export interface AnomalyResult {
  /** Index into the timeline of the first anomalous minute, or null. */
  index: number | null;
  /** The baseline (calls/min) that minute was judged against. */
  baseline: number | null;
}

/**
 * The first minute whose calls exceed ANOMALY_FACTOR × the mean of the minutes before it
 * (up to BASELINE_MINUTES of them, at least one, counted from the first minute with calls).
 * The timeline must be gap-filled with zeros.
 */
export function findAnomalyStart(calls: readonly number[]): AnomalyResult {
  // The baseline starts at the first minute with calls: empty minutes before the audit rows begin are not "normal".
  const start = calls.findIndex((c) => c > 0);
  if (start === -1) return { index: null, baseline: null };
  let sum = 0;
  for (let i = start; i < calls.length; i++) {
    if (i > start) {
      const n = Math.min(i - start, BASELINE_MINUTES);
      const mean = sum / n;
      if (calls[i]! > ANOMALY_FACTOR * Math.max(mean, BASELINE_FLOOR)) return { index: i, baseline: mean };
    }
    sum += calls[i]!;
    if (i - start >= BASELINE_MINUTES) sum -= calls[i - BASELINE_MINUTES]!;
  }
  return { index: null, baseline: sum / Math.min(calls.length - start, BASELINE_MINUTES) };
}
