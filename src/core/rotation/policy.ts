import type { Settings } from '../config.js';
import { usageError } from '../errors.js';
import { isRecord, jsonText } from '../json.js';

/**
 * How old a production key may get before a scheduled rotation replaces it. From the most
 * specific to the least: the command's flag, the key's own entry, its vendor's, the default;
 * without any, a key is never due. A key's age counts from when the proxy first held it
 * (`created_at` of GET /v1/upstream-keys): the rotation that made it, or the first start that
 * read it from the config file.
 *
 * In the profile, flat (as `tourniquet config set` writes):
 *   rotation.max_age 90d · rotation.max_age.openai 30d · rotation.max_age.<upstream key id> 7d
 * or nested (by hand in config.json):
 *   "rotation": {"max_age": "90d", "vendors": {"openai": "30d"}, "keys": {"up_Xy…": "7d"}}
 * The environment's TOURNIQUET_ROTATION_MAX_AGE is the default for every vendor.
 */
export interface RotationPolicy {
  /** Milliseconds; null: no maximum age applies. */
  max_age_ms: number | null;
  /** As written: "90d". */
  max_age: string | null;
  source: 'flag' | 'key' | 'vendor' | 'default' | 'none';
}

export interface DueState {
  age_ms: number;
  /** When the key reaches its maximum age; null without a policy. */
  due_at: string | null;
  overdue: boolean;
}

const DAY = 86_400_000;
const UNIT_MS: Record<string, number> = { h: 3_600_000, d: DAY, w: 7 * DAY };

/** `90d`, `12w`, `36h`. Whole hours at least: key ages are a compliance figure, not a timer. */
export function parseMaxAge(text: string, where: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(h|d|w)\s*$/i.exec(text);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]! : NaN;
  if (!(ms > 0))
    throw usageError(`${where}: "${text}" is not a key age`, 'write it as days, weeks or hours: 90d, 12w, 36h');
  return ms;
}

function nested(settings: Settings): {
  max_age?: unknown;
  vendors?: Record<string, unknown>;
  keys?: Record<string, unknown>;
} {
  const r = settings.raw('rotation');
  if (!isRecord(r)) return {};
  const table = (v: unknown) => (isRecord(v) ? v : undefined);
  return { max_age: r.max_age, vendors: table(r.vendors), keys: table(r.keys) };
}

function configured(
  settings: Settings,
  key: { id: string; vendor: string },
): { text: string; source: RotationPolicy['source']; where: string } | null {
  const n = nested(settings);
  const candidates: Array<[unknown, RotationPolicy['source'], string]> = [
    [settings.raw(`rotation.max_age.${key.id}`) ?? n.keys?.[key.id], 'key', `rotation.max_age.${key.id}`],
    [
      settings.raw(`rotation.max_age.${key.vendor}`) ?? n.vendors?.[key.vendor],
      'vendor',
      `rotation.max_age.${key.vendor}`,
    ],
    [settings.get('rotation.max_age') ?? n.max_age, 'default', 'rotation.max_age'],
  ];
  for (const [value, source, where] of candidates)
    if (value !== undefined && value !== null && value !== '') return { text: jsonText(value), source, where };
  return null;
}

export function policyFor(settings: Settings, key: { id: string; vendor: string }, flag?: string): RotationPolicy {
  if (flag !== undefined) return { max_age_ms: parseMaxAge(flag, '--if-older-than'), max_age: flag, source: 'flag' };
  const c = configured(settings, key);
  if (!c) return { max_age_ms: null, max_age: null, source: 'none' };
  return { max_age_ms: parseMaxAge(c.text, `the profile's ${c.where}`), max_age: c.text, source: c.source };
}

export function dueState(createdAt: string, policy: RotationPolicy, now: number): DueState {
  const born = Date.parse(createdAt);
  const age_ms = Math.max(0, now - born);
  if (policy.max_age_ms === null) return { age_ms, due_at: null, overdue: false };
  const due = born + policy.max_age_ms;
  return { age_ms, due_at: new Date(due).toISOString(), overdue: now >= due };
}

export const ageDays = (ms: number) => Math.floor(ms / DAY);
