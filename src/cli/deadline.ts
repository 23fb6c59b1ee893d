import { Deadline } from '../core/deadline.js';
import { currentProfile, readConfigFile } from '../core/config.js';
import { usageError } from '../core/errors.js';
import { parseDuration } from '../core/rate.js';
import type { DeadlineSpec } from './deadline-specs.js';
import { jsonText } from '../core/json.js';

/**
 * The overall deadline of a networked command (README, "Deadlines"): `--deadline`, else
 * TOURNIQUET_DEADLINE_MS, else the profile's `deadline_ms`, else the command's default
 * (cli/deadline-specs.ts). Loaded only when a command has one.
 */
function fromSettings(
  env: Record<string, string | undefined>,
  profileFlag: string | undefined,
): { ms: number; source: string } | undefined {
  const raw = env.TOURNIQUET_DEADLINE_MS;
  if (raw !== undefined && raw !== '')
    return { ms: positive(raw, 'TOURNIQUET_DEADLINE_MS'), source: 'TOURNIQUET_DEADLINE_MS' };
  const file = readConfigFile(env);
  const profile = currentProfile(file, profileFlag, env);
  const stored = file.profiles?.[profile]?.deadline_ms;
  return stored === undefined
    ? undefined
    : {
        ms: positive(jsonText(stored), `deadline_ms in profile ${profile}`),
        source: `deadline_ms in profile ${profile}`,
      };
}

function positive(text: string, where: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw usageError(`${where} is "${text}": not a number of milliseconds above zero`, 'e.g. 60000 for a minute');
  return n;
}

export function commandDeadline(
  name: string,
  spec: DeadlineSpec | undefined,
  opts: Record<string, unknown>,
  flag: string | undefined,
  env: Record<string, string | undefined>,
  profile: string | undefined,
): Deadline | undefined {
  if (flag !== undefined) return new Deadline(parseDuration(flag, '--deadline'), '--deadline');
  const own = spec?.(opts);
  if (own === undefined) return undefined;
  const set = fromSettings(env, profile);
  return set ? new Deadline(set.ms, set.source) : new Deadline(own, `the default for ${name}; --deadline changes it`);
}
