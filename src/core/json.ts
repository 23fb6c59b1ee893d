/**
 * Narrowing for JSON from outside (HTTP bodies, files): parsed JSON is `unknown` until a guard or
 * a schema check says what it is, so a wrong shape is found where it enters, not three calls later.
 */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A field of a JSON object, or undefined when `v` is not an object. */
export const fieldOf = (v: unknown, key: string): unknown => (isRecord(v) ? v[key] : undefined);

/** A string field of a JSON object, or undefined. */
export const stringField = (v: unknown, key: string): string | undefined => {
  const f = fieldOf(v, key);
  return typeof f === 'string' ? f : undefined;
};

/** A JSON scalar as text: strings as they are, numbers and booleans printed; objects and absent values are not text. */
export const scalarText = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;

/** Any JSON value as one line of text: strings as they are, everything else as JSON. */
export const jsonText = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

/**
 * A value read from a file or a database as text: what String() prints for scalars, dates and
 * buffers; any other object as JSON, never "[object Object]".
 */
export function valueText(v: unknown): string {
  if (typeof v === 'object' && v !== null && !(v instanceof Date) && !Buffer.isBuffer(v)) return JSON.stringify(v);
  return String(v);
}
