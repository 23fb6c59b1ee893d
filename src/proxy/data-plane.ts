import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { PolicyVerdict } from './store/types.js';
import { StoreUnavailableError } from './store/types.js';
import type { PolicyState, LiveVaultKey } from './state.js';
import { Call, cachedHash, readBody } from './call.js';
import type { UsageTracker } from './usage.js';
import type { AuditWriter } from './audit-writer.js';
import { encodedCredential, refusalVendor, vaultKeyPlaces, type VendorSpec } from './vendors.js';
import type { Metering } from '../vendors/shared/meter.js';
import {
  carriesSecret,
  customerScope,
  parseBody,
  placeName,
  requestUrl,
  vaultKeyFrom,
  withoutSecret,
} from './request-info.js';
import { decide } from './policy.js';
import { downstreamHeaders, relayBody, scrubBuffer, upstreamFailure, upstreamHeaders } from './forward.js';
import { CallAbort, sendUpstream, type UpstreamTimeouts } from './upstream.js';
import { InflightRegistry, type InflightCall } from './inflight.js';
import type { RequestLog } from './log.js';
import { endpointOf, type Limits } from './limits/types.js';

export interface DataPlaneDeps {
  state: PolicyState;
  usage: UsageTracker;
  audit: AuditWriter;
  vendors: Map<string, VendorSpec>;
  dispatcher: Dispatcher;
  instanceId: string;
  log: RequestLog;
  inflight: InflightRegistry;
  maxBodyBytes: number;
  timeouts: UpstreamTimeouts;
  /** Rate and spend: this instance's counters, or leases from a shared store (limits/). */
  limits: Limits;
  /** A shared store: is the state still current? (After a stall, not until a fresh sync.) */
  freshness?: { fresh(): boolean; whenFresh(ms: number): Promise<boolean> };
}

type CallWithHeaders = Call & { headers?: IncomingMessage['headers'] };

export function createDataPlane(deps: DataPlaneDeps) {
  const { state, audit, log } = deps;
  const keyPlaces = vaultKeyPlaces(deps.vendors);
  /** Each call's request headers, for the refusal's dialect when the key does not name the vendor (a WeakMap costs the GC more). */
  const requestHeaders = (call: Call): IncomingMessage['headers'] => (call as CallWithHeaders).headers ?? {};

  function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  /**
   * An error answered by the proxy itself, in the vendor's own dialect (so its SDK raises its
   * usual exception), with `x-tourniquet-verdict` for every vendor. Returns the status sent.
   */
  function errorBody(
    res: ServerResponse,
    call: Call,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string> = {},
  ): number {
    const { ['retry-after']: retryAfter, ...rest } = extra;
    const spec = refusalVendor(deps.vendors, call.vendor, { path: call.path, headers: requestHeaders(call) });
    const answer = spec.refusal({
      status,
      code,
      message,
      retryAfterS: retryAfter === undefined ? undefined : Number(retryAfter),
    });
    json(res, answer.status, answer.body, { ...answer.headers, ...rest, 'x-tourniquet-verdict': code });
    return answer.status;
  }

  /** A refusal never reached a vendor: answered at once, its row written without anyone waiting. */
  function refuse(
    res: ServerResponse,
    call: Call,
    status: number,
    code: PolicyVerdict,
    message: string,
    extra: Record<string, string> = {},
  ): void {
    const sent = errorBody(res, call, status, code, message, extra);
    const row = call.row(code);
    audit.record(row);
    log.request(row, sent);
  }

  /** A forwarded call has ended: its outcome completes its intent row (nobody waits for that write). */
  function ended(call: Call, verdict: PolicyVerdict, status: number): void {
    audit.complete(call.outcome(verdict));
    log.request(call.row(verdict), status, call.vendorMs);
  }

  function splitVendor(pathname: string): { prefix: string | null; path: string } {
    const m = /^\/([a-z][a-z0-9-]*)(\/.*)?$/.exec(pathname);
    if (m && m[1] !== 'v1' && deps.vendors.has(m[1]!)) return { prefix: m[1]!, path: m[2] ?? '/' };
    return { prefix: null, path: pathname };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = new Call(req.method ?? 'GET', deps.instanceId) as CallWithHeaders;
    const url = requestUrl(req.url ?? '/');
    const { prefix, path } = splitVendor(url.pathname);
    call.path = path;
    call.vendor = prefix;
    call.headers = req.headers;
    const found = vaultKeyFrom(req.headers, url.searchParams, keyPlaces);
    if (!found.found) {
      req.resume();
      const where = found.misplacedIn
        ? ` (one was sent in the ${found.misplacedIn} header; send it where the vendor's SDK sends its key)`
        : '';
      return refuse(res, call, 401, 'vault_key_missing', `no vault key where the vendor's SDK sends its key${where}`);
    }
    // A vault key in the path is refused below; whatever the answer, its row and log line do not carry it.
    const keyInPath = carriesSecret(path, found.secret);
    if (keyInPath) call.path = withoutSecret(path, found.secret);
    const key = state.byHashLookup(cachedHash(found.secret));
    call.key = key;
    if (key) call.vendor = key.vendor;
    const keySpec = key ? deps.vendors.get(key.vendor) : undefined;
    if (keySpec && !keySpec.vaultKeyIn.some((p) => placeName(p) === found.place)) {
      req.resume();
      const where = keySpec.vaultKeyIn.map(placeName).join(' or ');
      return refuse(
        res,
        call,
        401,
        'vault_key_missing',
        `this vault key is for ${key!.vendor}, whose SDK sends its key as ${where}, not ${found.place}`,
      );
    }
    // A key in the query (Gemini's ?key=) is taken out: the vendor gets the production key instead.
    let search = url.search;
    if (found.place.startsWith('query:')) {
      url.searchParams.delete(found.place.slice('query:'.length));
      search = url.searchParams.size ? `?${url.searchParams.toString()}` : '';
    }
    if (key && prefix && prefix !== key.vendor) {
      req.resume();
      return refuse(res, call, 403, 'endpoint_not_allowed', `this vault key is for ${key.vendor}, not ${prefix}`);
    }
    const early = decide(key, call.method, path, Date.now(), null, deps.limits.view);
    if (early && early.stage === 'key') {
      req.resume();
      return refuse(res, call, early.status, early.code, early.message);
    }
    const body = await readBody(req, deps.maxBodyBytes);
    if (body === null)
      return refuse(res, call, 413, 'request_too_large', `request body over ${deps.maxBodyBytes} bytes`);
    // The vault key must never reach the vendor: not in a header (dropped), nor in the URL or body (refused).
    if (keyInPath || carriesSecret(search, found.secret) || body.includes(found.secret))
      return refuse(
        res,
        call,
        400,
        'vault_key_in_payload',
        'the vault key appears in the URL or body; it would reach the vendor, so the call was not forwarded',
      );
    const k = key!;
    const spec = deps.vendors.get(k.vendor);
    const parsed = parseBody(String(req.headers['content-type'] ?? ''), body);
    call.customer = customerScope(k.customer_id_path ? [k.customer_id_path] : (spec?.customerIdPaths ?? []), {
      path,
      query: url.searchParams,
      headers: req.headers,
      body: parsed,
    });
    const amount = spec?.requestAmountUsd?.(call.method, path, parsed) ?? null;
    call.amount = amount;
    const movesMoney = spec?.movesMoney?.(call.method, path) ?? false;
    const verdict = early ?? decide(k, call.method, path, Date.now(), amount, deps.limits.view, movesMoney);
    if (verdict) return refuse(res, call, verdict.status, verdict.code, verdict.message, verdict.headers);
    const upstream = state.upstreamFor(k);
    if (!spec || !upstream?.value)
      return refuse(res, call, 503, 'upstream_unavailable', `no active production key for ${k.vendor} at the proxy`);
    call.upstreamKeyId = upstream.id;
    // Rate and spend: from memory; on a fleet, against a lease from the store (fail closed without one).
    const admission = await deps.limits.admit(k, amount, endpointOf(call.method, path));
    if (!admission.ok)
      return refuse(
        res,
        call,
        admission.refusal.status,
        admission.refusal.code,
        admission.refusal.message,
        admission.refusal.headers,
      );
    // The row says what the call is charged if it cannot be metered (limits/estimate.ts).
    call.amount = admission.ticket.estimateUsd;
    // Write-ahead: the call's row is durable before anything reaches the vendor, or the call is not made.
    try {
      await audit.intent(call.intent());
    } catch (err) {
      deps.limits.release(admission.ticket);
      const why =
        err instanceof StoreUnavailableError && err.reason === 'disk_full'
          ? "the audit store's disk is full"
          : 'the audit store cannot be written';
      const sent = errorBody(res, call, 503, 'store_unavailable', `${why}; the call was not forwarded, retry shortly`, {
        'retry-after': '1',
      });
      log.request(call.row('store_unavailable'), sent);
      return;
    }
    // A revoke may have landed while the row was being written (or the process paused): decide
    // again, on state known current, at the last moment before forwarding.
    if (deps.freshness && !deps.freshness.fresh() && !(await deps.freshness.whenFresh(750))) {
      deps.limits.release(admission.ticket);
      return ended(
        call,
        'store_unavailable',
        errorBody(
          res,
          call,
          503,
          'store_unavailable',
          'the proxy cannot confirm vault-key state with its store; not forwarded, retry shortly',
          { 'retry-after': '1' },
        ),
      );
    }
    const late = decide(k, call.method, path, Date.now(), amount, deps.limits.view, movesMoney);
    if (late && late.stage === 'key') {
      deps.limits.release(admission.ticket);
      return ended(call, late.code, errorBody(res, call, late.status, late.code, late.message));
    }
    deps.usage.recordUpstreamUse(upstream.id);
    const metering = spec.meter({
      method: call.method,
      path,
      query: url.searchParams,
      headers: req.headers,
      body: parsed,
      raw: body,
    });
    try {
      await forward(
        req,
        res,
        call,
        k,
        spec,
        upstream.value,
        upstream.account_sid,
        found.secret,
        body,
        search,
        metering,
      );
    } finally {
      deps.limits.settle(admission.ticket, call.cost);
    }
  }

  async function forward(
    req: IncomingMessage,
    res: ServerResponse,
    call: Call,
    key: LiveVaultKey,
    spec: VendorSpec,
    secret: string,
    sid: string | null,
    vaultSecret: string,
    body: Buffer,
    search: string,
    metering: Metering,
  ): Promise<void> {
    const cut = new CallAbort();
    const entry: InflightCall = { hardRevoked: false, abort: () => cut.abort(new Error('hard revoke')) };
    deps.inflight.add(key.id, entry);
    const onClose = () => !res.writableFinished && cut.abort(new Error('agent went away'));
    res.on('close', onClose);
    const secrets = state.upstreamSecrets();
    const encoded = encodedCredential(spec, secret, sid);
    if (encoded) secrets.push(encoded);
    const sentAt = performance.now();
    try {
      const up = await sendUpstream(
        deps.dispatcher,
        { base: spec.baseUrl, path: call.path + search },
        call.method,
        upstreamHeaders(req.headers, spec, secret, sid, vaultSecret),
        metering.upstreamBody ?? body,
        cut,
        deps.timeouts,
      );
      call.vendorStatus = up.statusCode;
      const contentType = String(up.headers['content-type'] ?? '');
      const headers = downstreamHeaders(up.headers, secrets);
      const bodiless = call.method === 'HEAD' || up.statusCode === 204 || up.statusCode === 304;
      if (up.statusCode >= 400 || bodiless) {
        // Error bodies are read whole and scrubbed: a vendor may echo the key it was given.
        const raw = await up.body.all();
        call.vendorMs = performance.now() - sentAt;
        const clean = scrubBuffer(raw, secrets);
        call.cost = metering.cost({
          status: up.statusCode,
          headers: up.headers,
          contentType,
          body: raw,
          truncated: false,
        });
        if (!bodiless) headers['content-length'] = clean.length;
        res.writeHead(up.statusCode, headers);
        res.end(clean);
        return ended(call, 'allowed', up.statusCode);
      }
      const { whole, truncated, streaming } = await relayBody(
        up,
        res,
        headers,
        contentType.includes('text/event-stream'),
        metering,
      );
      call.vendorMs = performance.now() - sentAt;
      call.cost = metering.cost({ status: up.statusCode, headers: up.headers, contentType, body: whole, truncated });
      if (!streaming) {
        headers['content-length'] = whole.length;
        res.writeHead(up.statusCode, headers);
      }
      res.end(streaming ? undefined : whole);
      ended(call, 'allowed', up.statusCode);
    } catch (err) {
      call.vendorMs ??= performance.now() - sentAt;
      if (entry.hardRevoked) {
        const answered = !res.headersSent;
        if (!answered) res.destroy();
        const sent = answered
          ? errorBody(
              res,
              call,
              401,
              'vault_key_revoked',
              'this vault key was revoked (hard) while the call was in flight',
            )
          : 0;
        return ended(call, 'aborted_hard_revoke', sent);
      }
      if (res.destroyed || cut.aborted || res.headersSent) {
        res.destroy();
        return ended(call, 'allowed', 0);
      }
      const f = upstreamFailure(err);
      ended(call, 'allowed', errorBody(res, call, f.status, f.code, f.message));
    } finally {
      res.off('close', onClose);
      deps.inflight.remove(key.id, entry);
    }
  }

  return (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      log.error('data plane bug', err);
      if (!res.headersSent) json(res, 500, { error: { code: 'internal_error', message: 'internal proxy error' } });
      else res.destroy();
    });
  };
}
