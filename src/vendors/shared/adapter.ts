import { HttpClient, type Timeouts } from '../../core/http.js';
import { TourniquetError, usageError } from '../../core/errors.js';
import { redactHint } from '../../core/secrets.js';
import { authHeader, type VendorFacts } from './facts.js';
import type { CreatedKey, DeleteResult, KeyCredential, PlannedCall, ProbeResult, VendorConfig } from '../types.js';

/** What every vendor adapter is built from. */
export interface AdapterDeps {
  config: VendorConfig;
  /** The admin credential (already read from its reference); absent for probe-only use. */
  adminKey?: string;
  trace?: (line: string) => void;
  timeouts?: Partial<Timeouts>;
  /** Called with every secret the adapter learns (new keys), so output can scrub it. */
  onSecret?: (secret: string) => void;
}

export function baseUrl(facts: VendorFacts, cfg: VendorConfig): string {
  return cfg.baseUrl ?? facts.defaultBaseUrl;
}

export function adminClient(facts: VendorFacts, deps: AdapterDeps, base = baseUrl(facts, deps.config)): HttpClient {
  const key = deps.adminKey;
  if (!key)
    throw usageError(
      `${facts.displayName}: no admin credential`,
      `set vendors.${facts.id}.admin_key to a reference (env:NAME or file:PATH)`,
    );
  const cred: KeyCredential = { secret: key, id: deps.config.adminKeySid ?? deps.config.accountSid };
  return new HttpClient({
    baseUrl: base,
    name: `${facts.displayName} admin API`,
    headers: authHeader(facts, cred, deps.config),
    trace: deps.trace,
    timeouts: deps.timeouts,
  });
}

/** A harmless authenticated read with the given key. 2xx, 429 or a vendor's "alive but restricted" → accepted; 401/403 → refused. */
export async function probeKey(facts: VendorFacts, deps: AdapterDeps, key: KeyCredential): Promise<ProbeResult> {
  const client = new HttpClient({
    baseUrl: baseUrl(facts, deps.config),
    name: facts.displayName,
    trace: deps.trace,
    timeouts: deps.timeouts,
    retries: 1,
  });
  const [path, search] = facts.probePath(deps.config).split('?');
  const query = Object.fromEntries(new URLSearchParams(search ?? ''));
  const started = performance.now();
  // 429 is answered to keys the vendor has authenticated (rate limits are per account): alive, not proof of death.
  const res = await client.request({
    method: 'GET',
    path: path!,
    query,
    headers: authHeader(facts, key, deps.config),
    accept: [401, 403, 429],
  });
  const ms = Math.round(performance.now() - started);
  const accepted =
    (res.status >= 200 && res.status < 300) || res.status === 429 || (facts.aliveWhen?.(res.status, res.body) ?? false);
  return { accepted, status: res.status, ms };
}

/**
 * How long a key create may take: vendors can be slow to make a key, and a create is never
 * retried (a retry would make another), so it gets longer than the usual 5 s.
 */
const CREATE_TIMEOUTS = { headersMs: 20_000, bodyMs: 20_000 };
/** A create's timeouts: the long defaults, unless the caller set its own. */
export const createTimeouts = (deps: AdapterDeps): Partial<Timeouts> => ({ ...CREATE_TIMEOUTS, ...deps.timeouts });

/** Every page of a list, following the vendor's cursor until it says there is no more (bounded). */
export async function allPages<T>(
  first: () => Promise<{ items: T[]; next: (() => Promise<unknown>) | null }>,
  maxPages = 100,
): Promise<T[]> {
  const out: T[] = [];
  let page: { items: T[]; next: (() => Promise<unknown>) | null } = await first();
  for (let i = 1; ; i++) {
    out.push(...page.items);
    if (!page.next) return out;
    if (i >= maxPages)
      throw new TourniquetError('step-failed', `a key list ran past ${maxPages} pages; stopped rather than guess`);
    page = (await page.next()) as typeof page;
  }
}

/** The HTTP client's shape check for a list answer: the field must be an array. */
export const listIn =
  (field: string) =>
  (body: unknown): string | undefined =>
    body && typeof body === 'object' && Array.isArray((body as Record<string, unknown>)[field])
      ? undefined
      : `no ${field} list`;

export function created(id: string, secret: string, deps: AdapterDeps, meta?: Record<string, string>): CreatedKey {
  deps.onSecret?.(secret);
  return { id, secret, hint: redactHint(secret), ...(meta ? { meta } : {}) };
}

/** DELETE whose 404 is an answer (`not-found`), not an error: only the caller knows if it deleted the key before. */
export async function deleteOrNotFound(client: HttpClient, path: string, id: string): Promise<DeleteResult> {
  const res = await client.request({ method: 'DELETE', path, accept: [404] });
  return res.status === 404 ? { status: 'not-found', id } : { status: 'deleted', id };
}

export function call(client: HttpClient | string, method: string, path: string, what: string): PlannedCall {
  const url =
    typeof client === 'string'
      ? new URL(path.replace(/^\//, ''), client.endsWith('/') ? client : client + '/').toString()
      : client.url(path);
  return { method, url, what };
}

/** A string field of a response body, or a clear complaint for the HTTP client's shape check. */
export function need(body: unknown, ...paths: string[]): string | undefined {
  for (const p of paths) {
    const v = p
      .split('.')
      .reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), body);
    if (typeof v !== 'string' || v === '') return `missing ${p}`;
  }
  return undefined;
}
