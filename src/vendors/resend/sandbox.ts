import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { randomUUID } from 'node:crypto';
import { Keyring, token } from '../../sandbox/keyring.js';
import { resendTail } from './facts.js';
import { bearerAuth, serveRoutes, sroute, type Reply, type SandboxRequest } from '../../sandbox/http.js';

/**
 * Resend, as documented: JSON `POST /emails` (and `/emails/batch`), `/api-keys` create, list,
 * delete; errors as `{"statusCode", "message", "name"}`. Managing keys needs a full-access key.
 */
export interface ResendSandbox extends SandboxVendor {
  createKey(name?: string, permission?: 'full_access' | 'sending_access'): { id: string; secret: string };
}

const rerr = (statusCode: number, name: string, message: string): Reply => ({ status: statusCode, body: { statusCode, message, name } });

export async function startResendSandbox(opts: SandboxVendorOptions = {}): Promise<ResendSandbox> {
  const keys = new Keyring('resend', resendTail, opts);
  const emails = new Map<string, Record<string, unknown>>();

  const createKey = (name = 'tourniquet', permission: 'full_access' | 'sending_access' = 'full_access') => {
    const secret = `re_${token(8)}_${token(24)}`;
    const id = randomUUID();
    keys.add(secret, id, name, { permission });
    return { id, secret };
  };

  function authed(handler: (r: SandboxRequest) => Reply, needsFull = false) {
    return (r: SandboxRequest) => {
      const key = bearerAuth(r.headers);
      if (!key) return rerr(401, 'missing_api_key', 'Missing API key in the authorization header.');
      const e = keys.accept(key);
      if (!e) return rerr(403, 'invalid_api_key', 'API key is invalid');
      if (needsFull && e.meta.permission !== 'full_access') return rerr(401, 'restricted_api_key', 'This API key is restricted to only send emails');
      return handler(r);
    };
  }

  const validEmail = (b: Record<string, unknown>): Reply | null => {
    for (const f of ['from', 'to', 'subject']) if (!b[f]) return rerr(422, 'missing_required_field', `Missing \`${f}\` field.`);
    return null;
  };

  const send = (b: Record<string, unknown>) => {
    const id = randomUUID();
    emails.set(id, { object: 'email', id, ...b, created_at: new Date().toISOString(), last_event: 'delivered' });
    return id;
  };

  const routes = [
    sroute('POST', '/emails', authed((r) => validEmail(r.body) ?? { status: 200, body: { id: send(r.body) } })),
    sroute('POST', '/emails/batch', authed((r) => {
      const list = JSON.parse(r.rawBody.toString('utf8') || '[]') as unknown;
      if (!Array.isArray(list)) return rerr(422, 'validation_error', 'The body must be an array of emails.');
      for (const e of list) {
        const bad = validEmail(e as Record<string, unknown>);
        if (bad) return bad;
      }
      return { status: 200, body: { data: list.map((e) => ({ id: send(e as Record<string, unknown>) })) } };
    })),
    sroute('GET', '/emails/{id}', authed((r) => {
      const e = emails.get(r.params[0]!);
      return e ? { status: 200, body: e } : rerr(404, 'not_found', 'Email not found');
    })),
    sroute('POST', '/api-keys', authed((r) => {
      if (typeof r.body.name !== 'string' || !r.body.name) return rerr(422, 'missing_required_field', 'Missing `name` field.');
      const perm = r.body.permission === 'sending_access' ? 'sending_access' : 'full_access';
      const k = createKey(r.body.name, perm);
      return { status: 201, body: { id: k.id, token: k.secret } };
    }, true)),
    sroute('GET', '/api-keys', authed(() => ({ status: 200, body: { data: keys.list().map((k) => ({ id: k.id, name: k.name, created_at: new Date(k.createdAt).toISOString() })) } }), true)),
    sroute('DELETE', '/api-keys/{id}', authed((r) => (keys.get(r.params[0]!) && keys.delete(r.params[0]!) ? { status: 200 } : rerr(404, 'not_found', 'API key not found')), true)),
  ];
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    notFound: () => rerr(404, 'not_found', 'The requested endpoint does not exist.'),
    badBody: () => rerr(422, 'validation_error', 'Invalid JSON body.'),
  });
  return { url, keys, createKey, deleteKey: (k) => keys.delete(k), server, defaultKey: createKey('default') };
}
