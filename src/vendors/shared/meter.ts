/**
 * Metering: how the proxy learns what one call cost. A vendor's meter is set up from the
 * request (it may ask the vendor to put the usage in a stream), sees every streamed chunk as it
 * passes (it may hold back what it added, so the agent sees what it asked for), and gives the
 * cost once the answer is complete.
 *
 * The cost is a number of USD, 0 when the call is known not to be charged (a read, an error, an
 * idempotent replay), or null when it cannot be known (no usage in the answer, an unknown model,
 * a cut-off stream). An allowed call whose audit row has a null cost is a call of unknown cost.
 */
export interface MeterRequest {
  method: string;
  /** The vendor's path (any `/vendor` prefix removed), without the query. */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** The JSON or form body as an object; null when there is none or it is not one. */
  body: Record<string, unknown> | null;
  raw: Buffer;
}

export interface MeterResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  contentType: string;
  /** The whole body, or for a stream what was kept of it. */
  body: Buffer;
  /** The body was longer than what was kept. */
  truncated: boolean;
}

export interface Metering {
  /** The request body to send instead of the agent's (e.g. a stream asked to carry its usage). */
  upstreamBody?: Buffer;
  /** Sees each chunk of a streamed answer before the agent does; returns what the agent gets. */
  tap?: (chunk: Buffer) => Buffer;
  /** At the end of a stream: what the tap still holds for the agent. */
  flush?: () => Buffer;
  cost(res: MeterResponse): number | null;
}

export type CostOf = (req: MeterRequest, res: MeterResponse) => number | null;

/** A meter that only reads the finished answer (no stream to rewrite). */
export function simpleMeter(cost: CostOf): (req: MeterRequest) => Metering {
  return (req) => ({ cost: (res) => cost(req, res) });
}

export const ok = (status: number) => status >= 200 && status < 300;

/** The answer as a JSON object, or null (not JSON, cut off, not an object). */
export function jsonBody(res: MeterResponse): Record<string, unknown> | null {
  if (res.truncated || !res.contentType.includes('json')) return null;
  try {
    const v = JSON.parse(res.body.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function header(res: MeterResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** A meter for calls that are never charged (reads, deletes, free endpoints). */
export const notCharged: Metering = { cost: () => 0 };
/** A meter for calls whose cost cannot be known from the answer. */
export const unknownCost: Metering = { cost: () => null };

/** Keeps the last `bytes` of a body as it passes (a large JSON answer ends with its usage). */
export function tailKeeper(bytes = 64 * 1024): { tap: (chunk: Buffer) => Buffer; tail: () => Buffer } {
  const kept: Buffer[] = [];
  let size = 0;
  return {
    tap(chunk) {
      kept.push(chunk);
      size += chunk.length;
      while (kept.length > 1 && size - kept[0]!.length >= bytes) size -= kept.shift()!.length;
      return chunk;
    },
    tail: () => Buffer.concat(kept),
  };
}

/** The JSON object that follows the last `"key":` in a text (a truncated body's tail), or undefined. */
export function lastObjectAfter(text: string, key: string): Record<string, unknown> | undefined {
  const at = text.lastIndexOf(`"${key}"`);
  if (at < 0) return undefined;
  const start = text.indexOf('{', at);
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1)) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** A text field of a multipart/form-data body (`model` of an audio upload), or undefined. */
export function formField(raw: Buffer, name: string): string | undefined {
  const at = raw.indexOf(`name="${name}"`);
  if (at < 0) return undefined;
  const start = raw.indexOf('\r\n\r\n', at);
  if (start < 0) return undefined;
  const end = raw.indexOf('\r\n', start + 4);
  return raw.subarray(start + 4, end < 0 ? undefined : end).toString('utf8');
}

/**
 * Is an audit row a call of unknown cost? It reached the vendor (allowed, or cut in flight by a
 * hard revoke) and no cost could be read: 0 means "known not charged", null means "unknown".
 * Refused calls never reached the vendor, so their null is not unknown.
 */
export const costUnknown = (row: { policy_verdict: string; cost_usd_parsed: number | null }): boolean =>
  (row.policy_verdict === 'allowed' || row.policy_verdict === 'aborted_hard_revoke') && row.cost_usd_parsed === null;
