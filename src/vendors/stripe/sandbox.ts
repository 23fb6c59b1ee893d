import type Stripe from 'stripe';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, token } from '../../sandbox/keyring.js';
import { stripeTail } from './facts.js';
import {
  closeServer,
  basicAuth,
  bearerAuth,
  noFaults,
  nowSec,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxRequest,
} from '../../sandbox/http.js';

/**
 * Stripe, as documented: form-encoded requests, JSON objects with `object`, errors as
 * `{"error": {"type", "code", "message", "param"}}`, Idempotency-Key replays.
 * There is no public API for secret keys, so keys are created and deleted programmatically.
 */
export type StripeSandbox = SandboxVendor;

const err = (status: number, type: string, code: string | undefined, message: string, param?: string): Reply => ({
  status,
  body: { error: { type, ...(code ? { code } : {}), message, ...(param ? { param } : {}) } },
});

/**
 * The fields of a stripe-node type the fake answers with: stripe-node is generated from Stripe's
 * OpenAPI document, so its types are this fake's contract (type-checked, erased from the build).
 */
type StripeObject<T, K extends keyof T> = Pick<
  T,
  K | Extract<keyof T, 'id' | 'object' | 'created' | 'livemode' | 'metadata'>
>;
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const optional = (v: unknown): string | null => (typeof v === 'string' ? v : null);

const missing = (param: string) =>
  err(400, 'invalid_request_error', 'parameter_missing', `Missing required param: ${param}.`, param);

function redacted(key: string): string {
  return `${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}`;
}

export async function startStripeSandbox(opts: SandboxVendorOptions = {}): Promise<StripeSandbox> {
  const keys = new Keyring('stripe', stripeTail, opts);
  const objects = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, Reply>();

  const save = (o: Record<string, unknown>) => (objects.set(String(o.id), o), o);
  const ok = (o: unknown, status = 200): Reply => ({ status, body: o, headers: { 'request-id': `req_${token(14)}` } });
  const list = (type: string, url: string, filter: (o: Record<string, unknown>) => boolean = () => true): Reply =>
    ok({
      object: 'list',
      url,
      has_more: false,
      data: [...objects.values()].filter((o) => o.object === type && filter(o)).reverse(),
    });
  const get = (type: string, id: string): Reply => {
    const o = objects.get(id);
    return o && o.object === type
      ? ok(o)
      : err(404, 'invalid_request_error', 'resource_missing', `No such ${type}: '${id}'`, 'id');
  };
  const amountOf = (r: SandboxRequest) => Number(r.body.amount);

  function authed(handler: (r: SandboxRequest) => Reply): (r: SandboxRequest) => Reply {
    return (r) => {
      const key = bearerAuth(r.headers) ?? basicAuth(r.headers)?.user ?? null;
      if (!key)
        return err(
          401,
          'invalid_request_error',
          undefined,
          'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.',
        );
      if (!keys.accept(key)) {
        const shown = opts.echoKeysInErrors ? key : redacted(key);
        return err(401, 'invalid_request_error', 'api_key_invalid', `Invalid API Key provided: ${shown}`);
      }
      const idem = r.method === 'POST' ? r.headers['idempotency-key'] : undefined;
      const cacheKey = typeof idem === 'string' ? `${key}:${idem}` : null;
      const replay = cacheKey ? idempotent.get(cacheKey) : undefined;
      // Stripe marks a replayed answer: the request was not carried out again.
      if (replay && replay !== 'stream-handled')
        return { ...replay, headers: { ...replay.headers, 'idempotent-replayed': 'true' } };
      const reply = handler(r);
      if (cacheKey) idempotent.set(cacheKey, reply);
      return reply;
    };
  }

  const charge = (r: SandboxRequest): Reply => {
    if (!r.body.amount) return missing('amount');
    if (!r.body.currency) return missing('currency');
    const amount = amountOf(r);
    if (!Number.isInteger(amount) || amount < 50)
      return err(400, 'invalid_request_error', 'amount_too_small', 'Amount must be at least 50 cents.', 'amount');
    const c: StripeObject<
      Stripe.Charge,
      | 'amount'
      | 'amount_captured'
      | 'amount_refunded'
      | 'currency'
      | 'customer'
      | 'description'
      | 'captured'
      | 'paid'
      | 'refunded'
      | 'status'
    > = {
      id: `ch_${token(24)}`,
      object: 'charge',
      amount,
      amount_captured: amount,
      amount_refunded: 0,
      currency: text(r.body.currency).toLowerCase(),
      customer: optional(r.body.customer),
      description: optional(r.body.description),
      captured: true,
      paid: true,
      refunded: false,
      status: 'succeeded',
      livemode: false,
      created: nowSec(),
      metadata: {},
    };
    return ok(save(c));
  };

  const paymentIntent = (r: SandboxRequest): Reply => {
    if (!r.body.amount) return missing('amount');
    if (!r.body.currency) return missing('currency');
    const confirmed = r.body.confirm === 'true';
    const id = `pi_${token(24)}`;
    const pi: StripeObject<
      Stripe.PaymentIntent,
      'amount' | 'amount_received' | 'currency' | 'customer' | 'status' | 'client_secret'
    > = {
      id,
      object: 'payment_intent',
      amount: amountOf(r),
      amount_received: confirmed ? amountOf(r) : 0,
      currency: text(r.body.currency).toLowerCase(),
      customer: optional(r.body.customer),
      status: confirmed ? 'succeeded' : 'requires_payment_method',
      client_secret: `${id}_secret_${token(24)}`,
      livemode: false,
      created: nowSec(),
      metadata: {},
    };
    return ok(save(pi));
  };

  const confirm = (r: SandboxRequest): Reply => {
    const pi = objects.get(r.params[0]!);
    if (!pi || pi.object !== 'payment_intent') return get('payment_intent', r.params[0]!);
    pi.status = 'succeeded';
    pi.amount_received = pi.amount;
    return ok(pi);
  };

  const refund = (r: SandboxRequest): Reply => {
    const target = objects.get(text(r.body.charge ?? r.body.payment_intent));
    if (!r.body.charge && !r.body.payment_intent) return missing('charge');
    if (!target)
      return err(
        404,
        'invalid_request_error',
        'resource_missing',
        `No such charge: '${text(r.body.charge ?? r.body.payment_intent)}'`,
        'charge',
      );
    const amount = r.body.amount ? amountOf(r) : Number(target.amount);
    if (target.object === 'charge') target.amount_refunded = Number(target.amount_refunded) + amount;
    const re: StripeObject<Stripe.Refund, 'amount' | 'currency' | 'status' | 'charge' | 'payment_intent'> = {
      id: `re_${token(24)}`,
      object: 'refund',
      amount,
      currency: text(target.currency),
      status: 'succeeded',
      created: nowSec(),
      charge: target.object === 'charge' ? text(target.id) : null,
      payment_intent: target.object === 'payment_intent' ? text(target.id) : null,
      metadata: {},
    };
    return ok(save(re));
  };

  const customer = (r: SandboxRequest): Reply => {
    const c: StripeObject<Stripe.Customer, 'email' | 'name'> = {
      id: `cus_${token(14)}`,
      object: 'customer',
      email: optional(r.body.email),
      name: optional(r.body.name),
      created: nowSec(),
      livemode: false,
      metadata: {},
    };
    return ok(save(c));
  };

  const routes = [
    sroute('POST', '/v1/charges', authed(charge)),
    sroute(
      'GET',
      '/v1/charges',
      authed((r) =>
        list('charge', '/v1/charges', (o) => !r.query.get('customer') || o.customer === r.query.get('customer')),
      ),
    ),
    sroute(
      'GET',
      '/v1/charges/{id}',
      authed((r) => get('charge', r.params[0]!)),
    ),
    sroute('POST', '/v1/payment_intents', authed(paymentIntent)),
    sroute(
      'GET',
      '/v1/payment_intents/{id}',
      authed((r) => get('payment_intent', r.params[0]!)),
    ),
    sroute('POST', '/v1/payment_intents/{id}/confirm', authed(confirm)),
    sroute('POST', '/v1/refunds', authed(refund)),
    sroute(
      'GET',
      '/v1/refunds/{id}',
      authed((r) => get('refund', r.params[0]!)),
    ),
    sroute('POST', '/v1/customers', authed(customer)),
    sroute(
      'GET',
      '/v1/customers',
      authed(() => list('customer', '/v1/customers')),
    ),
    sroute(
      'GET',
      '/v1/customers/{id}',
      authed((r) => get('customer', r.params[0]!)),
    ),
  ];
  const faults = noFaults();
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: (r) => err(404, 'invalid_request_error', undefined, `Unrecognized request URL (${r.method}: ${r.path}).`),
    badBody: () => err(400, 'invalid_request_error', undefined, 'Invalid request body.'),
  });

  const createKey = (name = 'secret key') => {
    const secret = `sk_test_${token(99)}`;
    const id = `key_${token(14)}`;
    keys.add(secret, id, name);
    return { id, secret };
  };
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
