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
