import { usageError, type TourniquetError } from './errors.js';

/**
 * With no configuration, every command that needs a proxy says how to get one: the demo to see
 * the whole story, the sandbox for loopback vendors, `proxy serve` for a real one.
 */
export const GET_A_PROXY =
  'no proxy yet? `tourniquet demo` runs the whole story on loopback; `tourniquet sandbox` starts loopback vendors; `tourniquet proxy serve` runs the proxy (docs/admin-api.md)';

export function noProxyUrl(what = 'no proxy URL'): TourniquetError {
  return usageError(what, `set TOURNIQUET_PROXY_URL, or: tourniquet config set proxy_url URL\n  ${GET_A_PROXY}`);
}
