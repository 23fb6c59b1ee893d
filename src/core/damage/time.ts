import { usageError } from '../errors.js';

export const MINUTE_MS = 60_000;

const HAS_ZONE = /(?:Z|[+-]\d\d:?\d\d)$/i;

/** An offset in whole hours after a time, as PostgreSQL prints one (`02:14:00+00`, psql, COPY … CSV). */
const HOUR_OFFSET = /(\d:\d\d(?:\.\d+)?)([+-]\d\d)$/;

/**
 * An audit timestamp to epoch ms. Strings without a zone are UTC (audit rows are stored in UTC);
 * numbers above 1e11 are milliseconds, smaller ones seconds. NaN when it cannot be read.
 */
export function parseAuditTime(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? (value > 1e11 ? value : value * 1000) : NaN;
  if (value instanceof Date) return value.getTime();
  if (typeof value !== 'string' || value === '') return NaN;
  // The common case, first and cheap: 2026-11-21T02:14:00.000Z as the proxy writes it.
  if (value.length >= 20 && value.charCodeAt(10) === 84 && value.charCodeAt(value.length - 1) === 90)
    return Date.parse(value);
  if (/^\d+(\.\d+)?$/.test(value)) return parseAuditTime(Number(value));
  const iso = (value.includes('T') ? value : value.replace(' ', 'T')).replace(HOUR_OFFSET, '$1$2:00');
  return Date.parse(HAS_ZONE.test(iso) ? iso : iso + 'Z');
}

const UNITS: Record<string, number> = { s: 1000, m: MINUTE_MS, h: 3_600_000, d: 86_400_000 };

/** `30m`, `2h`, `90s`, `1d` → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(text.trim());
  if (!m) throw usageError(`${flag} ${text}: not a duration`, 'use a number and a unit: 90s, 30m, 2h, 1d');
  return Number(m[1]) * UNITS[m[2]!]!;
}

/** A flag's point in time: ISO-8601 (no zone = UTC), epoch seconds/ms, or `now`. */
export function parseInstant(text: string, flag: string, now: number): number {
  if (text === 'now') return now;
  const t = parseAuditTime(text);
  if (Number.isNaN(t))
    throw usageError(`${flag} ${text}: not a time`, 'use ISO-8601 such as 2026-11-22T02:14:00Z, or epoch seconds');
  return t;
}

export const toIso = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/**
 * A UTC instant shown in the operator's zone: `2026-11-22 03:14:05 CET`. The zone is `TZ`
 * from the environment given (not process-wide state), falling back to the system's.
 */
export function formatLocal(ms: number, tz: string | undefined, withSeconds = true): string {
  const fmt = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz || undefined,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: withSeconds ? '2-digit' : undefined,
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  const p = Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const clock = withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day} ${clock} ${p.timeZoneName}`;
}

/** Reject a TZ that Intl does not know, before it fails halfway through rendering. */
export function checkTimeZone(tz: string | undefined): string | undefined {
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz.replace(/^:/, '') });
    return tz.replace(/^:/, '');
  } catch {
    return undefined;
  }
}
