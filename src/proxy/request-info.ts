import type { IncomingHttpHeaders } from 'node:http';
import type { VaultKeyPlace } from '../vendors/module.js';

/**
 * Reading a request for policy: the vault key (where the agent's SDK put it), the parsed
 * body, the customer id, endpoint patterns.
 */

export type KeyLookup = { found: true; secret: string; place: string } | { found: false; misplacedIn?: string };

/** A place's name, as `found.place` gives it and messages show it: `bearer`, `basic`, `header:x-api-key`, `query:key`. */
export const placeName = (p: VaultKeyPlace): string =>
  typeof p === 'string' ? p : 'header' in p ? `header:${p.header}` : `query:${p.query}`;

function fromAuthorization(auth: string | undefined, places: ReadonlySet<string>): string | undefined {
  if (!auth) return undefined;
  const [scheme, value = ''] = auth.split(/\s+/, 2);
  if (places.has('bearer') && /^bearer$/i.test(scheme ?? '') && value.startsWith('vk_')) return value;
  if (places.has('basic') && /^basic$/i.test(scheme ?? '')) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = i < 0 ? decoded : decoded.slice(0, i);
    const pass = i < 0 ? '' : decoded.slice(i + 1);
    if (pass.startsWith('vk_')) return pass;
    if (user.startsWith('vk_')) return user;
  }
  return undefined;
}

/** The names of a place list, computed once per list (the data plane asks with the same list every call). */
const namesOf = new WeakMap<readonly VaultKeyPlace[], ReadonlySet<string>>();
function placeNames(places: readonly VaultKeyPlace[]): ReadonlySet<string> {
  let names = namesOf.get(places);
  if (!names) namesOf.set(places, (names = new Set(places.map(placeName))));
  return names;
}

/**
 * The vault key, from wherever an SDK of one of the vendors puts its key: Authorization (Bearer;
 * Basic with the key as password or user, Twilio and Stripe's old style), a vendor's own header
 * (`x-api-key`, `x-goog-api-key`) or query parameter (`?key=`). `places` is every vendor's list.
 */
export function vaultKeyFrom(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  places: readonly VaultKeyPlace[],
): KeyLookup {
  const names = placeNames(places);
  const auth = fromAuthorization(headers.authorization, names);
  if (auth)
    return { found: true, secret: auth, place: /^basic/i.test(headers.authorization ?? '') ? 'basic' : 'bearer' };
  for (const p of places) {
    if (typeof p === 'string') continue;
    const v = 'header' in p ? headers[p.header] : query.get(p.query);
    if (typeof v === 'string' && v.startsWith('vk_')) return { found: true, secret: v, place: placeName(p) };
  }
  // A vault key anywhere else is named (never echoed), so the agent's author can move it.
  for (const [name, v] of Object.entries(headers)) {
    if (name === 'authorization') continue;
    const text = Array.isArray(v) ? v.join(',') : (v ?? '');
    if (/\bvk_[A-Za-z0-9]{8,}/.test(text)) return { found: false, misplacedIn: name };
  }
  return { found: false };
}

/** A part of the URL as the vendor would read it: percent-decoded, or as sent if it does not decode. */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Does a path or query carry the vault key, as sent or percent-encoded? */
export function carriesSecret(part: string, secret: string): boolean {
  return part.includes(secret) || (part.includes('%') && decoded(part).includes(secret));
}

/** The path as the audit row and the log may hold it, when it carries the vault key: redacted (the call is refused). */
export function withoutSecret(path: string, secret: string): string {
  return decoded(path).replaceAll(secret, '[redacted by tourniquet]');
}

/**
 * A plain path (segments of letters, digits and `-_~`; no empty or dot segment, no query) is its
 * own pathname; the WHATWG parse (dot segments, `//host`, percent-encoding) is for everything else.
 */
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~-]+)+$/;
export function requestUrl(raw: string): { pathname: string; search: string; searchParams: URLSearchParams } {
  if (PLAIN_PATH.test(raw)) return { pathname: raw, search: '', searchParams: new URLSearchParams() };
  return new URL(raw, 'http://proxy.invalid');
}

export function parseBody(contentType: string, body: Buffer): Record<string, unknown> | null {
  if (body.length === 0) return null;
  try {
    if (contentType.includes('application/x-www-form-urlencoded')) {
      // A field given twice is kept as the list of its values: which one the vendor takes (first?
      // last?) is not ours to guess, so nothing reads it as one value (an amount, a currency).
      const out: Record<string, unknown> = {};
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) {
        const seen = out[k];
        out[k] = !Object.hasOwn(out, k) ? v : Array.isArray(seen) ? [...(seen as string[]), v] : [seen, v];
      }
      return out;
    }
    if (contentType.includes('json')) {
      const v = JSON.parse(body.toString('utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    }
  } catch {
    // Not our business to reject a body the vendor will judge; it just has no fields for us.
  }
  return null;
}

function dig(obj: unknown, dotted: string): unknown {
  let cur = obj;
  for (const part of dotted.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return Array.isArray(cur) ? cur[0] : cur;
}

/**
 * The customer a call acts for. Locations: `body.FIELD[.SUB]`, `query.FIELD`, `header.NAME`,
 * `path.N` (the Nth path segment, from 1), `after.SEG` (the segment following SEG).
 */
export function customerScope(
  locations: string[],
  req: { path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: Record<string, unknown> | null },
): string | null {
  const segs = req.path.split('/').filter(Boolean);
  for (const loc of locations) {
    const dot = loc.indexOf('.');
    const kind = loc.slice(0, dot);
    const name = loc.slice(dot + 1);
    let v: unknown;
    if (kind === 'body') v = dig(req.body, name);
    else if (kind === 'query') v = req.query.get(name) ?? undefined;
    else if (kind === 'header') v = req.headers[name.toLowerCase()];
    else if (kind === 'path') v = segs[Number(name) - 1];
    else if (kind === 'after') {
      const i = segs.indexOf(name);
      v = i >= 0 ? segs[i + 1] : undefined;
    }
    if (typeof v === 'string' && v.length > 0 && v.length <= 200) return v;
  }
  return null;
}

/** `POST /v1/refunds`, `GET /v1/customers/*`, `* /v1/**`: `*` one segment, `**` the rest. */
export function compileEndpoints(patterns: string[]): (method: string, path: string) => boolean {
  const compiled = patterns.map((p) => {
    const [m, ...rest] = p.trim().split(/\s+/);
    const path = rest.join(' ') || m!;
    const method = rest.length ? m!.toUpperCase() : '*';
    const esc = path
      .split('/')
      .map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]+')))
      .join('/');
    return { method, re: new RegExp(`^${esc}/?$`) };
  });
  return (method, path) => compiled.some((c) => (c.method === '*' || c.method === method) && c.re.test(path));
}

export function isValidEndpointPattern(p: string): boolean {
  return /^((GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|\*)\s+)?\/\S*$/i.test(p.trim());
}
