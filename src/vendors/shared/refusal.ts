/**
 * A refusal by the proxy, said in a vendor's own error dialect so that its official SDK raises
 * its usual exception with our code and reason in it. The proxy decides in its own terms (a
 * status and a verdict code); each vendor maps those to the status its SDK reads best. The
 * `x-tourniquet-verdict` header, added by the proxy, is the same for every vendor.
 */
export interface RefusalInput {
  /** The proxy's status: 401 key, 403 endpoint, 402 spend cap, 429 rate, 400/413 request, 5xx vendor or store. */
  status: number;
  /** The verdict code: `vault_key_revoked`, `spend_cap_exceeded`, `rate_limited`, … */
  code: string;
  message: string;
  /** Seconds until a retry can succeed (rate limit, daily cap); absent when retrying will not help. */
  retryAfterS?: number;
}

export interface RefusalAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type Dialect = (r: RefusalInput) => RefusalAnswer;

export const isKeyRefusal = (r: RefusalInput) => r.status === 401;
export const isCap = (r: RefusalInput) => r.code === 'spend_cap_exceeded';

/** `retry-after` when a retry can succeed; SDKs that retry on their own read it. */
export function retryHeaders(r: RefusalInput): Record<string, string> {
  return r.retryAfterS !== undefined ? { 'retry-after': String(Math.max(1, Math.ceil(r.retryAfterS))) } : {};
}

/** The proxy's own dialect (the generic vendor): `{"error": {"type": "tourniquet_error", "code", "message"}}`. */
export const tourniquetDialect: Dialect = (r) => ({
  status: r.status,
  headers: retryHeaders(r),
  body: { error: { type: 'tourniquet_error', code: r.code, message: r.message } },
});
