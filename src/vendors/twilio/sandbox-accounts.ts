import type { Server } from 'node:http';
import { hex, type Keyring } from '../../sandbox/keyring.js';
import {
  basicAuth,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxFaults,
  type SandboxRequest,
} from '../../sandbox/http.js';

/**
 * accounts.twilio.com's AuthTokens API, as twilio_accounts_v1.json documents it, on its own
 * loopback host: POST /v1/AuthTokens/Secondary (201, the secondary token once), DELETE it (204;
 * 404 when there is none), POST /v1/AuthTokens/Promote (200: the secondary becomes the primary
 * and the old primary stops working, after the vendor's propagation tail). Basic auth with the
 * Account SID and either token.
 */
export interface AuthTokens {
  keys: Keyring;
  accountSid: string;
  primary: string;
  secondary: string | null;
}

const twerr = (status: number, code: number, message: string): Reply => ({
  status,
  body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
});

export async function startAccountsSandbox(
  t: AuthTokens,
  opts: { latencyMs?: number; faults?: SandboxFaults },
): Promise<{ server: Server; url: string }> {
  const url = (p: string) => `https://accounts.twilio.com${p}`;
  const iso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

  function authed(handler: (r: SandboxRequest) => Reply) {
    return (r: SandboxRequest) => {
      const auth = basicAuth(r.headers);
      const token = auth?.user === t.accountSid ? auth.pass : undefined;
      if (!token || (token !== t.primary && token !== t.secondary) || !t.keys.accept(token))
        return twerr(401, 20003, 'Authenticate');
      return handler(r);
    };
  }

  const createSecondary = (): Reply => {
    if (t.secondary) t.keys.delete(t.secondary);
    t.secondary = hex(32);
    t.keys.add(t.secondary, `auth_token_${hex(8)}`, 'secondary auth token', { auth_token: true });
    return {
      status: 201,
      body: {
        account_sid: t.accountSid,
        date_created: iso(),
        date_updated: iso(),
        secondary_auth_token: t.secondary,
        url: url('/v1/AuthTokens/Secondary'),
      },
    };
  };

  const promote = (): Reply => {
    if (!t.secondary) return twerr(400, 20001, 'There is no secondary auth token to promote');
    t.keys.delete(t.primary);
    t.primary = t.secondary;
    t.secondary = null;
    return {
      status: 200,
      body: {
        account_sid: t.accountSid,
        auth_token: t.primary,
        date_created: iso(),
        date_updated: iso(),
        url: url('/v1/AuthTokens'),
      },
    };
  };

  const deleteSecondary = (): Reply => {
    if (!t.secondary) return twerr(404, 20404, 'The requested resource /v1/AuthTokens/Secondary was not found');
    t.keys.delete(t.secondary);
    t.secondary = null;
    return { status: 204 };
  };

  return serveRoutes(
    [
      sroute('POST', '/v1/AuthTokens/Secondary', authed(createSecondary)),
      sroute('DELETE', '/v1/AuthTokens/Secondary', authed(deleteSecondary)),
      sroute('POST', '/v1/AuthTokens/Promote', authed(promote)),
    ],
    {
      latencyMs: opts.latencyMs,
      faults: opts.faults,
      notFound: (r) => twerr(404, 20404, `The requested resource ${r.path} was not found`),
      badBody: () => twerr(400, 20001, 'Invalid request body'),
    },
  );
}
