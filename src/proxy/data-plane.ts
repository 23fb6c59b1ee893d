import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { PolicyVerdict } from './store/types.js';
import type { PolicyState, LiveVaultKey } from './state.js';
import { Call, cachedHash, readBody } from './call.js';
import type { UsageTracker } from './usage.js';
import type { AuditWriter } from './audit-writer.js';
import { refusalVendor, vaultKeyPlaces, type VendorSpec } from './vendors.js';
import type { Metering } from '../vendors/shared/meter.js';
import { customerScope, parseBody, placeName, vaultKeyFrom } from './request-info.js';
import { decide } from './policy.js';
import { downstreamHeaders, relayBody, scrubBuffer, sendUpstream, upstreamFailure, upstreamHeaders, type UpstreamTimeouts } from './forward.js';
import { InflightRegistry, type InflightCall } from './inflight.js';
import type { RequestLog } from './log.js';

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
}

export function createDataPlane(deps: DataPlaneDeps) {
  const { state, usage, audit, instanceId, log } = deps;
  const keyPlaces = vaultKeyPlaces(deps.vendors);
  /** Each call's request headers, for the refusal's dialect when the key does not name the vendor. */
  const requestHeaders = new WeakMap<Call, IncomingMessage['headers']>();

  /** Audit first, answer second: the row is durable before the agent sees the answer. */
  async function finish(res: ServerResponse, call: Call, verdict: PolicyVerdict, status: number, send: () => void): Promise<void> {
    const row = call.row(verdict, instanceId);
    try {
      await audit.write(row);
    } catch (err) {
      log.error('audit write failed', err);
      if (!res.headersSent) json(res, 503, { error: { code: 'store_unavailable', message: 'the audit store is unavailable; call not answered' } });
      else res.destroy();
      return;
    }
    send();
    log.request(row, status);
  }

  function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  /**
   * A refusal in the vendor's own error dialect (so its SDK raises its usual exception), with
   * `x-tourniquet-verdict` for every vendor. `verdict` defaults to the code (upstream failures
   * were allowed calls).
   */
  function refuse(
    res: ServerResponse,
    call: Call,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string> = {},
    verdict: PolicyVerdict = (code === 'upstream_timeout' || code === 'upstream_unreachable' ? 'allowed' : code) as PolicyVerdict,
  ) {
    const { ['retry-after']: retryAfter, ...rest } = extra;
    const spec = refusalVendor(deps.vendors, call.vendor, { path: call.path, headers: requestHeaders.get(call) ?? {} });
    const answer = spec.refusal({ status, code, message, retryAfterS: retryAfter === undefined ? undefined : Number(retryAfter) });
    const headers = { ...answer.headers, ...rest, 'x-tourniquet-verdict': String(code) };
    return finish(res, call, verdict, answer.status, () => json(res, answer.status, answer.body, headers));
  }

  function splitVendor(pathname: string): { prefix: string | null; path: string } {
    const m = /^\/([a-z][a-z0-9-]*)(\/.*)?$/.exec(pathname);
    if (m && m[1] !== 'v1' && deps.vendors.has(m[1]!)) return { prefix: m[1]!, path: m[2] ?? '/' };
    return { prefix: null, path: pathname };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const call = new Call(req.method ?? 'GET');
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const { prefix, path } = splitVendor(url.pathname);
    call.path = path;
    call.vendor = prefix;

    requestHeaders.set(call, req.headers);
    const found = vaultKeyFrom(req.headers, url.searchParams, keyPlaces);
    if (!found.found) {
      req.resume();
      const where = found.misplacedIn ? ` (one was sent in the ${found.misplacedIn} header; send it where the vendor's SDK sends its key)` : '';
      return refuse(res, call, 401, 'vault_key_missing', `no vault key where the vendor's SDK sends its key${where}`);
    }
    const key = state.byHashLookup(cachedHash(found.secret));
    call.key = key;
    if (key) call.vendor = key.vendor;
    const keySpec = key ? deps.vendors.get(key.vendor) : undefined;
    if (keySpec && !keySpec.vaultKeyIn.some((p) => placeName(p) === found.place)) {
      req.resume();
      const where = keySpec.vaultKeyIn.map(placeName).join(' or ');
      return refuse(res, call, 401, 'vault_key_missing', `this vault key is for ${key!.vendor}, whose SDK sends its key as ${where}, not ${found.place}`);
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
    const early = decide(key, call.method, path, Date.now(), null, usage);
    if (early && early.stage === 'key') {
      req.resume();
      return refuse(res, call, early.status, early.code, early.message);
    }
    const body = await readBody(req, deps.maxBodyBytes);
    if (body === null) return refuse(res, call, 413, 'request_too_large', `request body over ${deps.maxBodyBytes} bytes`);
    // The vault key must never reach the vendor: not in a header (dropped), nor in the URL or body (refused).
    if (search.includes(found.secret) || body.includes(found.secret))
      return refuse(res, call, 400, 'vault_key_in_payload', 'the vault key appears in the URL or body; it would reach the vendor, so the call was not forwarded');
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
    const verdict = early ?? decide(k, call.method, path, Date.now(), amount, usage);
    if (verdict) return refuse(res, call, verdict.status, verdict.code, verdict.message, verdict.headers);
    const upstream = state.upstreamFor(k);
    if (!spec || !upstream?.value)
      return refuse(res, call, 503, 'upstream_unavailable', `no active production key for ${k.vendor} at the proxy`);
    call.upstreamKeyId = upstream.id;
    usage.recordCall(k.id);
    usage.recordUpstreamUse(upstream.id);
    const metering = spec.meter({ method: call.method, path, query: url.searchParams, headers: req.headers, body: parsed, raw: body });
    await forward(req, res, call, k, spec, upstream.value, upstream.account_sid, found.secret, body, search, metering);
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
    const ac = new AbortController();
    const entry: InflightCall = { hardRevoked: false, abort: () => ac.abort(new Error('hard revoke')) };
    deps.inflight.add(key.id, entry);
    const onClose = () => !res.writableFinished && ac.abort(new Error('agent went away'));
    res.on('close', onClose);
    const secrets = state.upstreamSecrets();
    let contentType = '';
    try {
      const up = await sendUpstream(deps.dispatcher, spec.baseUrl + call.path + search, call.method, upstreamHeaders(req.headers, spec, secret, sid, vaultSecret), metering.upstreamBody ?? body, ac.signal, deps.timeouts);
      call.vendorStatus = up.statusCode;
      contentType = String(up.headers['content-type'] ?? '');
      const headers = downstreamHeaders(up.headers, secrets);
      // Bodiless answers are complete at their headers, so they too wait for the audit row.
      const bodiless = call.method === 'HEAD' || up.statusCode === 204 || up.statusCode === 304;
      if (up.statusCode >= 400 || bodiless) {
        // Error bodies are read whole and scrubbed: a vendor may echo the key it was given.
        const raw = Buffer.from(await up.body.arrayBuffer());
        const clean = scrubBuffer(raw, secrets);
        call.cost = metering.cost({ status: up.statusCode, headers: up.headers, contentType, body: raw, truncated: false });
        if (!bodiless) headers['content-length'] = clean.length;
        await finish(res, call, 'allowed', up.statusCode, () => {
          res.writeHead(up.statusCode, headers);
          res.end(clean);
        });
        return;
      }
      const relayed = await relayBody(up, res, headers, contentType.includes('text/event-stream'), metering);
      const { whole, truncated, streaming } = relayed;
      call.cost = metering.cost({ status: up.statusCode, headers: up.headers, contentType, body: whole, truncated });
      if (call.cost !== null) usage.recordCost(key.id, call.cost);
      if (streaming) return void (await finish(res, call, 'allowed', up.statusCode, () => res.end()));
      headers['content-length'] = whole.length;
      await finish(res, call, 'allowed', up.statusCode, () => {
        res.writeHead(up.statusCode, headers);
        res.end(whole);
      });
    } catch (err) {
      if (entry.hardRevoked) {
        if (!res.headersSent) return void (await refuse(res, call, 401, 'vault_key_revoked', 'this vault key was revoked (hard) while the call was in flight', {}, 'aborted_hard_revoke'));
        await finish(res, call, 'aborted_hard_revoke', 0, () => res.destroy());
        return;
      }
      if (res.destroyed || ac.signal.aborted) {
        await finish(res, call, 'allowed', 0, () => res.destroy());
        return;
      }
      const f = upstreamFailure(err);
      if (!res.headersSent) await refuse(res, call, f.status, f.code, f.message);
      else await finish(res, call, 'allowed', 0, () => res.destroy());
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
