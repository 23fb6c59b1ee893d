import pg from 'pg';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { PostgresStore, type PostgresStoreOptions } from '../../src/proxy/store/postgres.js';
import type { FleetOptions } from '../../src/proxy/fleet/sync.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { silentLog } from '../../src/proxy/log.js';
import { ADMIN_TOKEN, adminCall } from '../proxy/helpers.js';
import { agentCall as callAs } from '../proxy/faults.js';
import { MasterKeyring } from '../../src/proxy/crypto/master-key.js';
import { testKeyring } from '../helpers/master-key.js';

/** One master key for every instance of a test run (they share a database). */
export const FLEET_KEYRING: MasterKeyring = testKeyring();

export { ADMIN_TOKEN, adminCall };

let dbSeq = 0;

/** A fresh database in the cluster, so each test starts from an empty schema. */
export async function freshDatabase(clusterUrl: string, prefix = 'fleet'): Promise<string> {
  const name = `${prefix}_${process.pid}_${++dbSeq}`;
  const c = new pg.Client({ connectionString: clusterUrl });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(clusterUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function sql<T = any>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows as T[];
  } finally {
    await c.end();
  }
}

export interface InstanceSpec {
  store?: PostgresStoreOptions;
  fleet?: FleetOptions;
  upstreams?: Record<string, string>;
}

/** One in-process proxy instance on the shared database, in front of the sandbox's Stripe. */
export function startInstance(url: string, sandbox: Sandbox, spec: InstanceSpec = {}): Promise<RunningProxy> {
  return startProxy({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    store: new PostgresStore(url, { instanceTtlMs: 2_000, ...spec.store }),
    adminToken: ADMIN_TOKEN,
    masterKey: FLEET_KEYRING,
    upstreams: { ...sandbox.urls, ...spec.upstreams },
    log: silentLog,
    fleet: spec.fleet,
    shutdownGraceMs: 500,
    upstreamKeys: [{ id: 'up_stripe_main', vendor: 'stripe', secret: sandbox.keys.stripe.secret, state: 'active' }],
  });
}

export async function issueKey(
  p: RunningProxy,
  body: Record<string, unknown> = {},
): Promise<{ id: string; secret: string }> {
  const r = await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe', ...body });
  if (r.status !== 201) throw new Error(`issue: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** One agent call; never throws (a connection error is status 0). */
export async function agentCall(
  dataUrl: string,
  secret: string,
  path = '/v1/customers',
): Promise<{ status: number; code: string | null }> {
  const { status, code } = await callAs(dataUrl, secret, path);
  return { status, code };
}

/** Poll until the key is refused on this instance; returns ms from `t0` (performance.now()). */
export async function untilRefused(dataUrl: string, secret: string, t0: number, limitMs = 5_000): Promise<number> {
  for (;;) {
    const r = await agentCall(dataUrl, secret);
    if (r.status === 401 && r.code === 'vault_key_revoked') return performance.now() - t0;
    if (performance.now() - t0 > limitMs)
      throw new Error(`still not refused after ${limitMs} ms (last ${r.status} ${r.code})`);
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
