import type { Server } from 'node:http';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, hex } from '../../sandbox/keyring.js';
import { twilioTail } from './facts.js';
import {
  basicAuth,
  closeServer,
  noFaults,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxRequest,
} from '../../sandbox/http.js';
import { startAccountsSandbox, type AuthTokens } from './sandbox-accounts.js';

/**
 * Twilio, as its OpenAPI documents say: HTTP Basic (Account SID + auth token, or API key SID
 * + secret), form-encoded Messages with a `price`, API keys under the account (`SK…` sids; a
 * deleted or unknown one is 404), paged lists, and the account's auth tokens, which live on
 * their own host (accounts.twilio.com, `accountsUrl` here: Secondary, Promote).
 */
export interface TwilioSandbox extends SandboxVendor {
  defaultKey: { id: string; secret: string; account_sid: string };
  accountSid: string;
  /** The current primary auth token (changes when a secondary is promoted). */
  readonly authToken: string;
  /** accounts.twilio.com's stand-in. */
  accountsUrl: string;
  accountsServer: Server;
}

const twerr = (status: number, code: number, message: string): Reply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});
const notFound = (path: string) => twerr(404, 20404, `The requested resource ${path} was not found`);
const rfc2822 = (ms = Date.now()) => new Date(ms).toUTCString().replace('GMT', '+0000');

/** One page of a 2010-04-01 list: `PageSize`, `Page`, and the paging URIs. */
function page(r: SandboxRequest, key: string, all: unknown[]): Reply {
  const size = Math.min(1000, Math.max(1, Number(r.query.get('PageSize') ?? 50)));
  const n = Math.max(0, Number(r.query.get('Page') ?? 0));
  const items = all.slice(n * size, (n + 1) * size);
  const uri = (p: number) => `${r.path}?PageSize=${size}&Page=${p}`;
  const body = {
    [key]: items,
    start: n * size,
    end: n * size + Math.max(0, items.length - 1),
    page: n,
    page_size: size,
    uri: uri(n),
    first_page_uri: uri(0),
    next_page_uri: (n + 1) * size < all.length ? uri(n + 1) : null,
    previous_page_uri: n > 0 ? uri(n - 1) : null,
  };
  return { status: 200, body };
}

export async function startTwilioSandbox(
  opts: SandboxVendorOptions & { pricePerSegment?: string } = {},
): Promise<TwilioSandbox> {
  const keys = new Keyring('twilio', twilioTail, opts);
  const faults = noFaults();
  const accountSid = `AC${hex(32)}`;
  const tokens: AuthTokens = { keys, accountSid, primary: hex(32), secondary: null };
  keys.add(tokens.primary, `auth_token_${hex(8)}`, 'primary auth token', { auth_token: true });
  const messages = new Map<string, Record<string, unknown>>();
  const base = `/2010-04-01/Accounts/${accountSid}`;

  function authed(handler: (r: SandboxRequest) => Reply) {
    return (r: SandboxRequest) => {
      const auth = basicAuth(r.headers);
      if (!auth) return twerr(401, 20003, 'Authenticate');
      const entry = keys.accept(auth.pass);
      // The user is the Account SID for an auth token, or the key's own SID for an API key.
      const sidOk = entry && (entry.meta.auth_token ? auth.user === accountSid : auth.user === entry.id);
      if (!sidOk) return twerr(401, 20003, 'Authenticate');
      if (r.params[0] !== accountSid) return notFound(r.path);
      return handler(r);
    };
  }

  const send = (r: SandboxRequest): Reply => {
    if (!r.body.To) return twerr(400, 21604, "A 'To' phone number is required.");
    if (!r.body.From && !r.body.MessagingServiceSid) return twerr(400, 21603, "A 'From' phone number is required.");
    const sid = `SM${hex(32)}`;
    const body = typeof r.body.Body === 'string' ? r.body.Body : '';
    const segments = Math.max(1, Math.ceil(body.length / 160));
    const price = (-Number(opts.pricePerSegment ?? '0.00790') * segments).toFixed(5);
    const msg = {
      sid,
      account_sid: accountSid,
      to: r.body.To,
      from: r.body.From ?? null,
      messaging_service_sid: r.body.MessagingServiceSid ?? null,
      body,
      status: 'queued',
      num_segments: String(segments),
      num_media: '0',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      price,
      price_unit: 'USD',
      error_code: null,
      error_message: null,
      date_created: rfc2822(),
      date_updated: rfc2822(),
      date_sent: null,
      uri: `${base}/Messages/${sid}.json`,
      subresource_uris: { media: `${base}/Messages/${sid}/Media.json` },
    };
    messages.set(sid, msg);
    return { status: 201, body: msg };
  };

  const keyView = (k: { id: string; name: string; createdAt: number }) => ({
    sid: k.id,
    friendly_name: k.name,
    date_created: rfc2822(k.createdAt),
    date_updated: rfc2822(k.createdAt),
  });
  const createKey = (name = 'tourniquet') => {
    const id = `SK${hex(32)}`;
    const secret = hex(32);
    keys.add(secret, id, name);
    return { id, secret };
  };
  const apiKey = (r: SandboxRequest) =>
    /^SK[0-9a-fA-F]{32}$/.test(r.params[1]!) && keys.live(r.params[1]!) ? keys.get(r.params[1]!) : undefined;

  const A = '/2010-04-01/Accounts/{sid}';
  const routes = [
    sroute('POST', `${A}/Messages.json`, authed(send)),
    sroute(
      'GET',
      `${A}/Messages.json`,
      authed((r) => page(r, 'messages', [...messages.values()].reverse())),
    ),
    sroute(
      'GET',
      `${A}/Messages/{msg}.json`,
      authed((r) =>
        messages.has(r.params[1]!) ? { status: 200, body: messages.get(r.params[1]!) } : notFound(r.path),
      ),
    ),
    sroute(
      'POST',
      `${A}/Keys.json`,
      authed((r) => {
        const k = createKey(typeof r.body.FriendlyName === 'string' ? r.body.FriendlyName : '');
        return { status: 201, body: { ...keyView(keys.get(k.id)!), secret: k.secret } };
      }),
    ),
    sroute(
      'GET',
      `${A}/Keys.json`,
      authed((r) =>
        page(
          r,
          'keys',
          keys
            .list()
            .filter((k) => k.id.startsWith('SK'))
            .map(keyView),
        ),
      ),
    ),
    sroute(
      'GET',
      `${A}/Keys/{key}.json`,
      authed((r) => {
        const k = apiKey(r);
        return k ? { status: 200, body: keyView(k) } : notFound(r.path);
      }),
    ),
    sroute(
      'DELETE',
      `${A}/Keys/{key}.json`,
      authed((r) => (apiKey(r) && keys.delete(r.params[1]!) ? { status: 204 } : notFound(r.path))),
    ),
  ];
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: (r) => notFound(r.path),
    badBody: () => twerr(400, 20001, 'Invalid request body'),
  });
  const accounts = await startAccountsSandbox(tokens, { latencyMs: opts.latencyMs, faults });
  const defaultKey = { id: 'auth_token', secret: tokens.primary, account_sid: accountSid };
  return {
    url,
    accountSid,
    keys,
    createKey,
    deleteKey: (k) => keys.delete(k),
    defaultKey,
    faults,
    get authToken() {
      return tokens.primary;
    },
    accountsUrl: accounts.url,
    accountsServer: accounts.server,
    server,
    stop: async () => {
      await Promise.all([closeServer(server), closeServer(accounts.server)]);
    },
  };
}
