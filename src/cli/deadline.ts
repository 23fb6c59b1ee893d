import { Deadline } from '../core/deadline.js';
import { currentProfile, readConfigFile } from '../core/config.js';
import { usageError } from '../core/errors.js';
import { parseDuration } from '../core/rate.js';

/**
 * The overall deadline of a networked command (README, "Deadlines"): `--deadline`, else
 * TOURNIQUET_DEADLINE_MS, else the profile's `deadline_ms`, else the command's default: a base
 * plus the waits it was asked for (`--verify-timeout`, `--tail-timeout`, `--warmup`, `--observe`).
 * Commands that never talk to the network, and the long-running ones (proxy, sandbox, demo,
 * watch without --once), have none.
 */
export const BASE_DEADLINE_MS = 30_000;

/** What a command declares: its default budget in ms, from its own options; undefined: no deadline. */
export type DeadlineSpec = (opts: Record<string, unknown>) => number | undefined;

const ms = (v: unknown, fallback: number) => (Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : fallback);
const dur = (v: unknown, fallback: number) => {
  try {
    return v === undefined ? fallback : parseDuration(String(v), 'duration');
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

function fromSettings(env: Record<string, string | undefined>, profileFlag: string | undefined): { ms: number; source: string } | undefined {
  const raw = env.TOURNIQUET_DEADLINE_MS;
  if (raw !== undefined && raw !== '') return { ms: positive(raw, 'TOURNIQUET_DEADLINE_MS'), source: 'TOURNIQUET_DEADLINE_MS' };
  const file = readConfigFile(env);
  const profile = currentProfile(file, profileFlag, env);
  const stored = file.profiles?.[profile]?.deadline_ms;
  return stored === undefined ? undefined : { ms: positive(String(stored), `deadline_ms in profile ${profile}`), source: `deadline_ms in profile ${profile}` };
}

function positive(text: string, where: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${where} is "${text}": not a number of milliseconds above zero`, 'e.g. 60000 for a minute');
  return n;
}

export function commandDeadline(name: string, spec: DeadlineSpec | undefined, opts: Record<string, unknown>, flag: string | undefined, env: Record<string, string | undefined>, profile: string | undefined): Deadline | undefined {
  if (flag !== undefined) return new Deadline(parseDuration(flag, '--deadline'), '--deadline');
  const own = spec?.(opts);
  if (own === undefined) return undefined;
  const set = fromSettings(env, profile);
  return set ? new Deadline(set.ms, set.source) : new Deadline(own, `the default for ${name}; --deadline changes it`);
}
