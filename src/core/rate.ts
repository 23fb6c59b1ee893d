import { usageError } from './errors.js';
import { jsonText } from './json.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60000, min: 60000, h: 3600000, hr: 3600000 };

/**
 * A call rate as people write it: `1/400ms`, `150/min`, `2.5/s`, `10/1.5s`, or a bare number
 * (calls per second). Returns calls per second.
 */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(\d+(?:\.\d+)?)?\s*(ms|s|sec|m|min|h|hr))?\s*$/i.exec(text);
  if (!m) throw usageError(`--rate "${text}" is not a rate`, 'write it as calls per time: 1/400ms, 150/min, 2.5/s');
  const calls = Number(m[1]);
  const per = m[3] ? Number(m[2] ?? 1) * UNIT_MS[m[3].toLowerCase()]! : 1000;
  if (!(calls > 0) || !(per > 0)) throw usageError(`--rate "${text}" must be above zero`);
  return (calls * 1000) / per;
}

/** Seed 002's runaway agent, one call every 400 ms: the rate a leak estimate assumes when given none. */
export const ASSUMED_RATE = '1/400ms';

/**
 * `--rate` for decide and estimate alike: the flag's rate, or seed 002's when there is none,
 * marked as assumed so the output can say so (a figure built on an assumption is never silent).
 */
export function rateOption(flag: unknown): { per_s: number; text: string; assumed: boolean } {
  const text = flag === undefined || flag === null || flag === '' ? undefined : jsonText(flag);
  return { per_s: parseRate(text ?? ASSUMED_RATE), text: text ?? ASSUMED_RATE, assumed: text === undefined };
}

/** Durations for windows and expiries: `90s`, `30m`, `2h`, `1d`, or plain seconds. Returns milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw usageError(`${flag} "${text}" is not a duration`, 'write it like 90s, 30m, 2h or 1d');
  const unit = { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000 }[(m[2] ?? 's') as 'ms'];
  return Number(m[1]) * unit;
}
