import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvModule from 'ajv';
import {
  ERROR_BODY,
  NOT_DURABLE,
  ROUTES,
  shapeProblem,
  type Route,
  type Schema,
} from '../../src/adapters/proxy/schemas.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { BIN } from '../helpers/cli.js';

/**
 * The admin API's answer shapes (contract C4): the CLI's own small validator agrees with ajv
 * (the reference JSON Schema implementation) on every schema, uses no keyword it does not check,
 * and the real proxy (`tourniquet proxy serve`, the built CLI) answers every route in a shape that
 * passes, so a change on either side that drifts from the other fails here.
 */
const Ajv = AjvModule as unknown as typeof import('ajv').default;
const ajv = new Ajv({ allErrors: true, strict: false });
const SUPPORTED = new Set([
  'type',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'minimum',
  'description',
]);
const ALL: Array<[string, Schema]> = [
  ...Object.entries(ROUTES),
  ['error body', ERROR_BODY],
  ['revoke_not_durable', NOT_DURABLE],
];

function keywords(s: Schema, out = new Set<string>()): Set<string> {
  for (const [k, v] of Object.entries(s)) {
    out.add(k);
    if (k === 'properties') for (const sub of Object.values(v as Record<string, Schema>)) keywords(sub, out);
    if ((k === 'items' || k === 'additionalProperties') && typeof v === 'object') keywords(v as Schema, out);
  }
  return out;
}

/** Every way to break a valid body one step: drop a key, or replace a value by each other JSON kind. */
function mutations(
  value: unknown,
  path: Array<string | number> = [],
): Array<{ path: string; body: (root: unknown) => unknown }> {
  const out: Array<{ path: string; body: (root: unknown) => unknown }> = [];
  const set = (root: unknown, p: Array<string | number>, v: unknown, drop = false) => {
    const copy = structuredClone(root) as any;
    let node = copy;
    for (const k of p.slice(0, -1)) node = node[k];
    if (drop) delete node[p.at(-1)!];
    else node[p.at(-1)!] = v;
    return copy;
  };
  if (path.length)
    for (const other of [null, 42, 'text', true, [], {}, -1, 1.5])
      out.push({ path: `${path.join('.')}=${JSON.stringify(other)}`, body: (r) => set(r, path, other) });
  if (value && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value)) {
      out.push({ path: `-${[...path, k].join('.')}`, body: (r) => set(r, [...path, k], undefined, true) });
      out.push(...mutations(v, [...path, k]));
    }
  if (Array.isArray(value) && value.length) out.push(...mutations(value[0], [...path, 0]));
  return out;
}

describe('the schemas themselves', () => {
  it.each(ALL)('%s uses only the keywords the CLI checks', (_name, schema) => {
    expect([...keywords(schema)].filter((k) => !SUPPORTED.has(k))).toEqual([]);
  });
});

describe('against the real proxy (tourniquet proxy serve, built)', () => {
  let sandbox: Sandbox;
  let child: ChildProcess;
  let admin = '';
  const token = 'admin-token-schemas-0123456789ab';
  const answers = new Map<Route | 'error', unknown>();

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(admin + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.001, tailMode: 'none' });
    const dir = mkdtempSync(join(tmpdir(), 'tq-schemas-'));
    writeFileSync(join(dir, 'token'), token);
    writeFileSync(
      join(dir, 'proxy.yaml'),
      'upstream_keys:\n  - { vendor: stripe, id: up_stripe_main, label: main, state: active, secret_env: STRIPE_KEY }\n',
    );
    child = spawn(
      process.execPath,
      [
        BIN,
        '--json',
        'proxy',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${join(dir, 'p.db')}`,
        '--admin-token-file',
        join(dir, 'token'),
        '--config',
        join(dir, 'proxy.yaml'),
        '--upstream',
        `stripe=${sandbox.urls.stripe}`,
      ],
      {
        // (a master key, so production keys can be stored: sealed)
        env: {
          PATH: process.env.PATH ?? '',
          HOME: dir,
          STRIPE_KEY: sandbox.keys.stripe.secret,
          TOURNIQUET_MASTER_KEY: randomBytes(32).toString('base64'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let data = '';
    admin = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (!line) return;
        data = JSON.parse(line).data_plane_url;
        resolve(JSON.parse(line).admin_url);
      });
      child.on('exit', (code) => reject(new Error(`proxy serve exited ${code}`)));
    });
    // Every route the CLI consumes, answered by the real thing
    const key = await call('POST', '/v1/vault-keys', {
      vendor: 'stripe',
      labels: { agent: 'schemas' },
      agent_run_id: 'run_s',
      expires_in: '1h',
    });
    answers.set('POST /v1/vault-keys', key.body);
    // One agent call, so the audit, its summary and the rates have rows to show
    const agent = await fetch(`${data}/v1/customers`, { headers: { authorization: `Bearer ${key.body.secret}` } });
    expect(agent.status).toBe(200);
    answers.set('GET /v1/vault-keys', (await call('GET', '/v1/vault-keys')).body);
    answers.set('GET /v1/vault-keys/{id}', (await call('GET', `/v1/vault-keys/${key.body.id}`)).body);
    answers.set('GET /v1/vault-keys/{id}/verdict', (await call('GET', `/v1/vault-keys/${key.body.id}/verdict`)).body);
    answers.set(
      'POST /v1/vault-keys/{id}/roll',
      (await call('POST', `/v1/vault-keys/${key.body.id}/roll`, { revoke_old: true })).body,
    );
    answers.set('DELETE /v1/vault-keys/{id}', (await call('DELETE', `/v1/vault-keys/${key.body.id}`)).body);
    answers.set(
      'POST /v1/vault-keys/revoke-all',
      (await call('POST', '/v1/vault-keys/revoke-all', { vendor: 'stripe' })).body,
    );
    const up = await call('POST', '/v1/upstream-keys', {
      vendor: 'stripe',
      secret: sandbox.keys.stripe.secret,
      state: 'standby',
      label: 'second',
    });
    answers.set('POST /v1/upstream-keys', up.body);
    answers.set('GET /v1/upstream-keys', (await call('GET', '/v1/upstream-keys?vendor=stripe')).body);
    answers.set(
      'POST /v1/upstream-keys/{id}/promote',
      (await call('POST', `/v1/upstream-keys/${up.body.id}/promote`, {})).body,
    );
    answers.set(
      'POST /v1/upstream-keys/{id}/retire',
      (await call('POST', '/v1/upstream-keys/up_stripe_main/retire', {})).body,
    );
    answers.set('GET /v1/audit', (await call('GET', '/v1/audit?limit=10')).body);
    answers.set('GET /v1/audit/summary', (await call('GET', '/v1/audit/summary')).body);
    answers.set('GET /v1/rates', (await call('GET', '/v1/rates')).body);
    answers.set('GET /v1/health', (await call('GET', '/v1/health')).body);
    answers.set('GET /v1/instances', (await call('GET', '/v1/instances')).body);
    answers.set('error', (await call('GET', '/v1/vault-keys/vk_id_nope')).body);
  }, 60_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await sandbox?.stop();
  });

  // Every route the CLI has a schema for is one the proxy serves.
  const served = Object.keys(ROUTES) as Route[];

  it.each(served)("%s: the real answer passes the CLI's schema and ajv", (route) => {
    const body = answers.get(route);
    expect(body, `no answer collected for ${route}`).toBeDefined();
    expect(shapeProblem(ROUTES[route], body)).toBeUndefined();
    expect(ajv.validate(ROUTES[route], body), JSON.stringify(ajv.errors)).toBe(true);
  });

  it('an error answer passes the error schema', () => {
    expect(shapeProblem(ERROR_BODY, answers.get('error'))).toBeUndefined();
  });

  it.each(served)('%s: every one-step break of the real answer is judged the same by the CLI and by ajv', (route) => {
    const body = answers.get(route);
    for (const m of mutations(body)) {
      const broken = m.body(body);
      const ours = shapeProblem(ROUTES[route], broken) === undefined;
      expect(ours, `${route} ${m.path}: ours says ${ours}`).toBe(ajv.validate(ROUTES[route], broken));
    }
  });
});
