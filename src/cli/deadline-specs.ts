import { parseDuration } from '../core/rate.js';
import { jsonText } from '../core/json.js';

/**
 * Each networked command's default overall deadline: a base plus the waits it was asked for
 * (`--verify-timeout`, `--tail-timeout`, `--warmup`, `--observe`). Commands that never talk to
 * the network, and the long-running ones (proxy, sandbox, demo, watch without --once), have
 * none. Kept apart from cli/deadline.ts so the registry loads nothing heavy for --help.
 */
export const BASE_DEADLINE_MS = 30_000;

/** What a command declares: its default budget in ms, from its own options; undefined: no deadline. */
export type DeadlineSpec = (opts: Record<string, unknown>) => number | undefined;

const ms = (v: unknown, fallback: number) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : fallback);
const dur = (v: unknown, fallback: number) => {
  try {
    return v === undefined ? fallback : parseDuration(jsonText(v), 'duration');
  } catch {
    return fallback; // the command reports its own bad flag
  }
};

/** Defaults per kind of command. */
export const DEADLINES = {
  /** One or two admin calls and a verification. */
  verifying: ((o) => BASE_DEADLINE_MS + ms(o.verifyTimeout, 5000)) as DeadlineSpec,
  plain: (() => BASE_DEADLINE_MS) as DeadlineSpec,
  /** Reads that may aggregate a large audit table on the server. */
  reading: (() => 2 * BASE_DEADLINE_MS) as DeadlineSpec,
  /** Many steps, then the vendor's propagation tail. */
  rotating: ((o) => 2 * BASE_DEADLINE_MS + ms(o.tailTimeout, 300) * 1000 + ms(o.verifyTimeout, 5000)) as DeadlineSpec,
  drill: ((o) => BASE_DEADLINE_MS + dur(o.warmup, 1000) + dur(o.observe, 1000)) as DeadlineSpec,
  watch: ((o) => (o.once === true ? BASE_DEADLINE_MS : undefined)) as DeadlineSpec,
};
