/**
 * The shape of every admin API answer the CLI consumes (docs/admin-api.md), one JSON Schema per
 * route. Each requires only what the CLI relies on and allows extra fields, so the proxy can
 * grow; a wrong shape is an error naming the route, never a guess. Whoever changes an answer's
 * shape changes this file and docs/admin-api.md in the same commit (contract C4); a test runs
 * the real proxy and checks its answers against these.
 *
 * They are checked by `shapeProblem` below, a small validator for the subset of JSON Schema used
 * here (type, required, properties, additionalProperties, items, enum, const, minimum): ajv
 * costs ~250 ms to load and compile on the 2am revoke path. The tests check these schemas with
 * ajv as well, and that no other keyword is used.
 */
import type { AnswerCheck } from '../../core/http.js';
import type { RouteAnswer } from './answers.js';

export type Schema = {
  type?: JsonType | JsonType[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  description?: string;
};
type JsonType = 'object' | 'array' | 'string' | 'number' | 'integer' | 'boolean' | 'null';

const str: Schema = { type: 'string' };
const strOrNull: Schema = { type: ['string', 'null'] };
const bool: Schema = { type: 'boolean' };
const count: Schema = { type: 'integer', minimum: 0 };
const numOrNull: Schema = { type: ['number', 'null'] };
const strings: Schema = { type: 'array', items: str };
const obj = (required: string[], properties: Record<string, Schema>): Schema => ({
  type: 'object',
  required,
  properties,
});
const list = (items: Schema): Schema => obj(['data'], { data: { type: 'array', items } });

export const ERROR_BODY = obj(['error'], { error: obj(['code'], { code: str, message: str }) });

const vaultKeyView = obj(['id', 'vendor', 'status'], {
  id: str,
  vendor: str,
  status: str,
  upstream_key_id: strOrNull,
  agent_run_id: strOrNull,
  expires_at: strOrNull,
  allowed_endpoints: { type: ['array', 'null'], items: str },
  labels: { type: ['object', 'null'], additionalProperties: str },
  daily_usd_cap: numOrNull,
  per_call_amount_cap: numOrNull,
  calls_per_minute: numOrNull,
  customer_id_path: strOrNull,
});
const issued: Schema = {
  ...vaultKeyView,
  required: ['id', 'secret', 'vendor', 'expires_at'],
  properties: { ...vaultKeyView.properties, secret: str, rolled_from: strOrNull },
};
const upstreamKey = obj(['id', 'vendor', 'state', 'hint'], {
  id: str,
  vendor: str,
  state: { enum: ['active', 'standby', 'retired'] },
  hint: str,
  label: strOrNull,
});
const fleet = obj(['confirmed', 'unconfirmed'], {
  confirmed: strings,
  unconfirmed: strings,
  waited_ms: { type: 'number', minimum: 0 },
});
const countCost = (key: string) =>
  obj([key, 'calls', 'cost_usd'], { [key]: strOrNull, calls: count, cost_usd: { type: 'number' } });
const auditRow = obj(['started_at', 'vault_key_id', 'policy_verdict'], {
  started_at: str,
  finished_at: strOrNull,
  vault_key_id: strOrNull,
  agent_run_id: strOrNull,
  customer_scope_id: strOrNull,
  upstream_key_id: strOrNull,
  policy_verdict: str,
  vendor_status: { type: ['integer', 'null'] },
  cost_usd_parsed: numOrNull,
  method: str,
  path: str,
});

/** Route → the schema of its successful answer. */
export const ROUTES = {
  'POST /v1/vault-keys': issued,
  'GET /v1/vault-keys': list(vaultKeyView),
  'GET /v1/vault-keys/{id}': vaultKeyView,
  // C1: 200 only once durable. `durable` is required; anything but `true` is not a revoke (durable.ts).
  'DELETE /v1/vault-keys/{id}': obj(['id', 'status', 'effective_at', 'already_revoked', 'durable'], {
    id: str,
    status: { const: 'revoked' },
    effective_at: str,
    already_revoked: bool,
    durable: bool,
    fleet,
  }),
  'POST /v1/vault-keys/revoke-all': obj(['revoked', 'effective_at', 'durable'], {
    revoked: strings,
    already_revoked: strings,
    effective_at: str,
    durable: bool,
  }),
  // With revoke_old, `revoked_old.durable` must be true for the old key to count as revoked.
  'POST /v1/vault-keys/{id}/roll': {
    ...issued,
    properties: { ...issued.properties, revoked_old: obj(['id', 'durable'], { id: str, durable: bool, fleet }) },
  },
  'GET /v1/vault-keys/{id}/verdict': obj(['instance_id', 'vault_key_id', 'refused', 'verdict'], {
    instance_id: str,
    vault_key_id: str,
    refused: bool,
    verdict: str,
  }),
  'GET /v1/upstream-keys': list(upstreamKey),
  'POST /v1/upstream-keys': upstreamKey,
  'POST /v1/upstream-keys/{id}/promote': upstreamKey,
  'POST /v1/upstream-keys/{id}/retire': upstreamKey,
  'GET /v1/audit': obj(['data', 'next_cursor'], { data: { type: 'array', items: auditRow }, next_cursor: strOrNull }),
  'GET /v1/audit/summary': obj(
    [
      'calls_total',
      'by_verdict',
      'calls_allowed',
      'cost_usd',
      'customers',
      'endpoints',
      'per_minute',
      'outcome_unknown',
    ],
    {
      // Allowed calls with no cost recorded (absent from an older proxy: damage then says it cannot tell).
      calls_cost_unknown: count,
      // C6: forwarded calls whose outcome was never recorded; damage must not read them as $0.
      outcome_unknown: obj(['calls', 'amount_usd_estimated'], {
        calls: count,
        amount_usd_estimated: { type: 'number', minimum: 0 },
        pending: count,
      }),
      calls_total: count,
      calls_allowed: count,
      by_verdict: { type: 'object', additionalProperties: count },
      cost_usd: { type: 'number' },
      customers: { type: 'array', items: countCost('customer_scope_id') },
      endpoints: {
        type: 'array',
        items: obj(['method', 'path', 'calls', 'cost_usd'], {
          method: strOrNull,
          path: strOrNull,
          calls: count,
          cost_usd: { type: 'number' },
        }),
      },
      // cost_usd and calls_cost_unknown per minute: absent from an older proxy (damage then shows no spend per minute).
      per_minute: {
        type: 'array',
        items: obj(['minute', 'calls'], {
          minute: str,
          calls: count,
          cost_usd: { type: 'number', minimum: 0 },
          calls_cost_unknown: count,
        }),
      },
      agent_runs: { type: 'array', items: countCost('agent_run_id') },
      vault_keys: { type: 'array', items: countCost('vault_key_id') },
      first_call: strOrNull,
      last_call: strOrNull,
      // Asked for with revoked_at, from the same snapshot as the rest (absent from an older proxy).
      after_revoke: obj(['later', 'later_allowed', 'in_flight'], {
        later: count,
        later_allowed: count,
        in_flight: count,
      }),
    },
  ),
  'GET /v1/rates': list(
    obj(['vault_key_id', 'vendor', 'status', 'calls_per_minute', 'baseline_per_minute'], {
      vault_key_id: str,
      agent: strOrNull,
      agent_run_id: strOrNull,
      vendor: str,
      status: str,
      calls_per_minute: { type: 'number', minimum: 0 },
      baseline_per_minute: { type: 'number', minimum: 0 },
      spend_usd_10m: { type: 'number' },
    }),
  ),
  'GET /v1/health': obj(['status', 'instance_id'], {
    status: str,
    instance_id: str,
    data_plane_url: str,
    admin_url: str,
  }),
  'GET /v1/instances': list(
    obj(['instance_id', 'data_plane_url', 'admin_url'], {
      instance_id: str,
      data_plane_url: str,
      admin_url: str,
      last_sync_at: strOrNull,
    }),
  ),
} satisfies Record<string, Schema>;

export type Route = keyof typeof ROUTES;

/** C1: the 503 a proxy answers when a revoke could not be made durable (it refuses the key anyway). */
export const NOT_DURABLE = obj(['error'], {
  error: obj(['code'], { code: { const: 'revoke_not_durable' }, message: str }),
  id: str,
  ids: strings,
  refused_here: bool,
});

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function fitsType(t: JsonType, v: unknown): boolean {
  if (t === 'integer') return Number.isInteger(v);
  if (t === 'number') return typeof v === 'number' && Number.isFinite(v);
  return typeOf(v) === t;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v);
  return s === undefined ? 'nothing' : s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

/** What is wrong with `value` against `schema` (the first problem, with its path), or undefined. */
export function shapeProblem(schema: Schema, value: unknown, path = 'body'): string | undefined {
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((t) => fitsType(t, value)))
      return `${path}: expected ${types.join(' or ')}, got ${typeOf(value)} ${show(value)}`;
  }
  if ('const' in schema && value !== schema.const) return `${path}: expected ${show(schema.const)}, got ${show(value)}`;
  if (schema.enum && !schema.enum.includes(value))
    return `${path}: expected one of ${schema.enum.map(show).join(', ')}, got ${show(value)}`;
  if (schema.minimum !== undefined && typeof value === 'number' && value < schema.minimum)
    return `${path}: ${value} is below ${schema.minimum}`;
  if (Array.isArray(value) && schema.items) {
    for (let i = 0; i < value.length; i++) {
      const p = shapeProblem(schema.items, value[i], `${path}[${i}]`);
      if (p) return p;
    }
  }
  if (typeOf(value) === 'object') return objectProblem(schema, value as Record<string, unknown>, path);
  return undefined;
}

function objectProblem(schema: Schema, value: Record<string, unknown>, path: string): string | undefined {
  for (const key of schema.required ?? []) if (!(key in value)) return `${path}: no "${key}"`;
  for (const [key, v] of Object.entries(value)) {
    const sub =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    const p = sub && shapeProblem(sub, v, `${path}.${key}`);
    if (p) return p;
  }
  return undefined;
}

/** The `expect` check of an HTTP call to `route`: its documented answer, or the error body for an accepted error status. */
export const expectRoute =
  <R extends Route>(route: R): AnswerCheck<RouteAnswer<R>> =>
  (body: unknown, status: number) =>
    status >= 200 && status < 300 ? shapeProblem(ROUTES[route], body) : shapeProblem(ERROR_BODY, body);
