/**
 * A deliberately small validator for admin request bodies and query strings: every error is a
 * 400 that names the field, unknown fields are refused (a typo must not silently drop a cap).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    /** Fields beside `error` in the answer, and headers (e.g. `Retry-After`). */
    readonly extra?: { body?: Record<string, unknown>; headers?: Record<string, string>; type?: string },
  ) {
    super(message);
  }
}

export const badField = (field: string, message: string) => new ApiError(400, 'invalid_request', message, field);

/** The longest duration a field takes: 10 years. */
export const MAX_DURATION_S = 3650 * 86400;

export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'string[]' | 'duration' | 'labels';

export interface FieldSpec {
  type: FieldType;
  required?: boolean;
  enum?: readonly string[];
  /** Inclusive minimum for numbers. */
  min?: number;
  /** null is accepted and kept (clears an optional policy field). */
  nullable?: boolean;
  check?: (v: unknown) => string | null;
}

export type Spec = Record<string, FieldSpec>;

function typeError(field: string, spec: FieldSpec, v: unknown): string | null {
  switch (spec.type) {
    case 'string':
      if (typeof v !== 'string' || v.length === 0) return `${field} must be a non-empty string`;
      if (v.length > 500) return `${field} is too long (500 characters at most)`;
      if (spec.enum && !spec.enum.includes(v)) return `${field} must be one of ${spec.enum.join(', ')}`;
      return null;
    case 'number':
    case 'integer':
      if (typeof v !== 'number' || !Number.isFinite(v)) return `${field} must be a number`;
      if (spec.type === 'integer' && !Number.isInteger(v)) return `${field} must be an integer`;
      if (spec.min !== undefined && v < spec.min) return `${field} must be at least ${spec.min}`;
      return null;
    case 'boolean':
      return typeof v === 'boolean' ? null : `${field} must be true or false`;
    case 'string[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return `${field} must be an array of strings`;
      return v.length > 200 ? `${field} has too many entries (200 at most)` : null;
    case 'duration': {
      const seconds = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : null;
      if (typeof v === 'number' && !(Number.isFinite(v) && v > 0))
        return `${field} must be a positive number of seconds`;
      if (seconds === null) return `${field} must be seconds or a duration like "45m", "2h", "30s", "1d"`;
      // Past this, a time computed from it is not a date (toISOString throws): say so here, as a 400.
      return seconds > MAX_DURATION_S ? `${field} must be at most 10 years (${MAX_DURATION_S} seconds, "3650d")` : null;
    }
    case 'labels': {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return `${field} must be an object`;
      for (const [k, x] of Object.entries(v)) {
        if (k !== 'agent' && k !== 'owner') return `${field}.${k} is not a known label (agent, owner)`;
        if (typeof x !== 'string' || x.length > 200) return `${field}.${k} must be a string`;
      }
      return null;
    }
  }
}

/** Seconds from `45m`, `2h`, `30s`, `1d`, `90`. */
export function parseDuration(text: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
  return n > 0 ? n * unit : null;
}

export function validate<T = Record<string, unknown>>(body: unknown, spec: Spec, where = 'body'): T {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw badField(where, `the request ${where} must be a JSON object`);
  const obj = body as Record<string, unknown>;
  // Own fields only: `in` would accept `constructor`, `toString`… from Object.prototype.
  for (const k of Object.keys(obj)) if (!Object.hasOwn(spec, k)) throw badField(k, `unknown field "${k}"`);
  for (const [field, fs] of Object.entries(spec)) {
    const v = obj[field];
    if (v === undefined) {
      if (fs.required) throw badField(field, `${field} is required`);
      continue;
    }
    if (v === null && fs.nullable) continue;
    const err = typeError(field, fs, v) ?? fs.check?.(v) ?? null;
    if (err) throw badField(field, err);
  }
  return obj as T;
}

/** Query strings are strings: same rules, numbers converted first. */
export function validateQuery<T = Record<string, string | number>>(params: URLSearchParams, spec: Spec): T {
  const obj: Record<string, unknown> = {};
  for (const [k, v] of params) {
    if (k in obj) throw badField(k, `${k} is given twice`);
    const fs = spec[k];
    obj[k] =
      fs && (fs.type === 'integer' || fs.type === 'number') && v !== '' && !Number.isNaN(Number(v))
        ? Number(v)
        : fs?.type === 'boolean'
          ? v === 'true'
            ? true
            : v === 'false'
              ? false
              : v
          : v;
  }
  return validate<T>(obj, spec, 'query');
}

export function isoTime(field: string): (v: unknown) => string | null {
  return (v) => (typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? null : `${field} must be an ISO-8601 time`);
}
