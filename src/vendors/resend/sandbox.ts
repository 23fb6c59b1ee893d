import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { randomUUID } from 'node:crypto';
import { Keyring, token } from '../../sandbox/keyring.js';
import { resendTail } from './facts.js';
import {
  closeServer,
  bearerAuth,
  noFaults,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxRequest,
} from '../../sandbox/http.js';

/**
 * Resend, as documented: JSON `POST /emails` (and `/emails/batch`), `/api-keys` create, list,
 * delete; errors as `{"statusCode", "message", "name"}`. Managing keys needs a full-access key.
 */
export interface ResendSandbox extends SandboxVendor {
  createKey(name?: string, permission?: 'full_access' | 'sending_access'): { id: string; secret: string };
}

const rerr = (statusCode: number, name: string, message: string): Reply => ({
  status: statusCode,
  body: { statusCode, message, name },
});

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
      if (needsFull && e.meta.permission !== 'full_access')
        return rerr(401, 'restricted_api_key', 'This API key is restricted to only send emails');
      return handler(r);
    };
  }

  /** A page of keys (`limit`, `after`), newest first, as Resend lists them. */
  const listKeys = (r: SandboxRequest): Reply => {
    const all = keys.list().reverse();
    const limit = Math.min(100, Math.max(1, Number(r.query.get('limit') ?? 20)));
    const after = r.query.get('after');
    const from = after ? all.findIndex((k) => k.id === after) + 1 : 0;
    const data = all
      .slice(from, from + limit)
      .map((k) => ({ id: k.id, name: k.name, created_at: new Date(k.createdAt).toISOString(), last_used_at: null }));
    return { status: 200, body: { object: 'list', has_more: from + limit < all.length, data } };
  };

  const validEmail = (b: Record<string, unknown>): Reply | null => {
    for (const f of ['from', 'to', 'subject'])
      if (!b[f]) return rerr(422, 'missing_required_field', `Missing \`${f}\` field.`);
    return null;
  };

  const send = (b: Record<string, unknown>) => {
    const id = randomUUID();
    emails.set(id, { object: 'email', id, ...b, created_at: new Date().toISOString(), last_event: 'delivered' });
    return id;
  };

  /**
   * Resend's idempotency: the same Idempotency-Key with the same body within 24 hours answers
   * the first answer again (nothing is sent twice); with another body, 409.
   */
  const seen = new Map<string, { body: string; reply: Reply }>();
  const idempotent =
    (handler: (r: SandboxRequest) => Reply) =>
    (r: SandboxRequest): Reply => {
      const key = r.headers['idempotency-key'];
      if (typeof key !== 'string') return handler(r);
      const scoped = `${r.path} ${key}`;
      const prior = seen.get(scoped);
      if (prior)
        return prior.body === r.rawBody.toString('utf8')
          ? prior.reply
          : rerr(409, 'invalid_idempotent_request', 'Same idempotency key used with a different request payload.');
      const reply = handler(r);
      if (reply !== 'stream-handled' && reply.status < 300)
        seen.set(scoped, { body: r.rawBody.toString('utf8'), reply });
      return reply;
    };

  const routes = [
    sroute(
      'POST',
      '/emails',
      authed(idempotent((r) => validEmail(r.body) ?? { status: 200, body: { id: send(r.body) } })),
    ),
    sroute(
      'POST',
      '/emails/batch',
      authed(
        idempotent((r) => {
          const list = JSON.parse(r.rawBody.toString('utf8') || '[]') as unknown;
          if (!Array.isArray(list)) return rerr(422, 'validation_error', 'The body must be an array of emails.');
          for (const e of list) {
            const bad = validEmail(e as Record<string, unknown>);
            if (bad) return bad;
          }
          return { status: 200, body: { data: list.map((e) => ({ id: send(e as Record<string, unknown>) })) } };
        }),
      ),
    ),
    sroute(
      'GET',
      '/emails/{id}',
      authed((r) => {
        const e = emails.get(r.params[0]!);
        return e ? { status: 200, body: e } : rerr(404, 'not_found', 'Email not found');
      }),
    ),
    sroute(
      'POST',
      '/api-keys',
      authed((r) => {
        if (typeof r.body.name !== 'string' || !r.body.name)
          return rerr(422, 'missing_required_field', 'Missing `name` field.');
        const perm = r.body.permission === 'sending_access' ? 'sending_access' : 'full_access';
        const k = createKey(r.body.name, perm);
        return { status: 201, body: { id: k.id, token: k.secret } };
      }, true),
    ),
    sroute(
      'GET',
      '/api-keys',
      authed((r) => listKeys(r), true),
    ),
    sroute(
      'DELETE',
      '/api-keys/{id}',
      authed(
        (r) =>
          keys.live(r.params[0]!) && keys.delete(r.params[0]!)
            ? { status: 200, body: { object: 'api_key', id: r.params[0], deleted: true } }
            : rerr(404, 'not_found', 'API key not found'),
        true,
      ),
    ),
  ];
  const faults = noFaults();
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: () => rerr(404, 'not_found', 'The requested endpoint does not exist.'),
    badBody: () => rerr(422, 'validation_error', 'Invalid JSON body.'),
  });
  return {
    url,
    keys,
    createKey,
    deleteKey: (k) => keys.delete(k),
    server,
    defaultKey: createKey('default'),
    faults,
    stop: () => closeServer(server),
  };
}
