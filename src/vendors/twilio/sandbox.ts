import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, hex } from '../../sandbox/keyring.js';
import { twilioTail } from './facts.js';
import { basicAuth, serveRoutes, sroute, type Reply, type SandboxRequest } from '../../sandbox/http.js';

/**
 * Twilio, as documented: HTTP Basic (Account SID + auth token, or API key SID + secret),
 * form-encoded Messages with a `price`, and API Keys created and deleted under the account.
 */
export interface TwilioSandbox extends SandboxVendor {
  defaultKey: { id: string; secret: string; account_sid: string };
  accountSid: string;
  authToken: string;
}

const twerr = (status: number, code: number, message: string): Reply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

const rfc2822 = () => new Date().toUTCString().replace('GMT', '+0000');

export async function startTwilioSandbox(opts: SandboxVendorOptions & { pricePerSegment?: string } = {}): Promise<TwilioSandbox> {
  const keys = new Keyring('twilio', twilioTail, opts);
  const accountSid = `AC${hex(32)}`;
  const authToken = hex(32);
  keys.add(authToken, 'auth_token', 'primary auth token', { sid: accountSid });
  const messages = new Map<string, Record<string, unknown>>();
  const base = `/2010-04-01/Accounts/${accountSid}`;

  function authed(handler: (r: SandboxRequest) => Reply) {
    return (r: SandboxRequest) => {
      const auth = basicAuth(r.headers);
      if (!auth) return twerr(401, 20003, 'Authenticate');
      const entry = keys.accept(auth.pass);
      // The user is the Account SID for the auth token, or the key's own SID for an API key.
      const sidOk = entry && (entry.id === 'auth_token' ? auth.user === accountSid : auth.user === entry.id);
      if (!sidOk) return twerr(401, 20003, 'Authenticate');
      if (r.params[0] !== accountSid) return twerr(404, 20404, `The requested resource ${r.path} was not found`);
      return handler(r);
    };
  }

  const send = (r: SandboxRequest): Reply => {
    if (!r.body.To) return twerr(400, 21604, "A 'To' phone number is required.");
    if (!r.body.From && !r.body.MessagingServiceSid) return twerr(400, 21603, "A 'From' phone number is required.");
    const sid = `SM${hex(32)}`;
    const body = String(r.body.Body ?? '');
    const segments = Math.max(1, Math.ceil(body.length / 160));
    const price = (-Number(opts.pricePerSegment ?? '0.00790') * segments).toFixed(5);
    const msg = {
      sid, account_sid: accountSid, to: r.body.To, from: r.body.From ?? null, messaging_service_sid: r.body.MessagingServiceSid ?? null, body,
      status: 'queued', num_segments: String(segments), num_media: '0', direction: 'outbound-api', api_version: '2010-04-01',
      price, price_unit: 'USD', error_code: null, error_message: null, date_created: rfc2822(), date_updated: rfc2822(), date_sent: null,
      uri: `${base}/Messages/${sid}.json`,
    };
    messages.set(sid, msg);
    return { status: 201, body: msg };
  };

  const keyView = (k: { id: string; name: string; createdAt: number }) => ({
    sid: k.id, friendly_name: k.name, date_created: new Date(k.createdAt).toUTCString(), date_updated: new Date(k.createdAt).toUTCString(),
  });

  const createKey = (name = 'tourniquet') => {
    const id = `SK${hex(32)}`;
    const secret = hex(32);
    keys.add(secret, id, name);
    return { id, secret };
  };

  const A = '/2010-04-01/Accounts/{sid}';
  const routes = [
    sroute('POST', `${A}/Messages.json`, authed(send)),
    sroute('GET', `${A}/Messages.json`, authed(() => ({ status: 200, body: { messages: [...messages.values()].reverse(), page: 0, page_size: 50 } }))),
    sroute('GET', `${A}/Messages/{msg}.json`, authed((r) => {
      const m = messages.get(r.params[1]!);
      return m ? { status: 200, body: m } : twerr(404, 20404, `The requested resource ${r.path} was not found`);
    })),
    sroute('POST', `${A}/Keys.json`, authed((r) => {
      const k = createKey(String(r.body.FriendlyName ?? ''));
      return { status: 201, body: { ...keyView(keys.get(k.id)!), secret: k.secret } };
    })),
    sroute('GET', `${A}/Keys.json`, authed(() => ({ status: 200, body: { keys: keys.list().filter((k) => k.id.startsWith('SK')).map(keyView) } }))),
    sroute('DELETE', `${A}/Keys/{key}.json`, authed((r) => (keys.get(r.params[1]!) && keys.delete(r.params[1]!) ? { status: 204 } : twerr(404, 20404, `The requested resource ${r.path} was not found`)))),
  ];
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    notFound: (r) => twerr(404, 20404, `The requested resource ${r.path} was not found`),
    badBody: () => twerr(400, 20001, 'Invalid request body'),
  });
  const defaultKey = { id: 'auth_token', secret: authToken, account_sid: accountSid };
  return { url, accountSid, authToken, keys, createKey, deleteKey: (k) => keys.delete(k), server, defaultKey };
}
