import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSandbox, type Sandbox, type TailMode } from '../../sandbox/index.js';
import { startProxy, type RunningProxy } from '../../proxy/index.js';
import { createTourniquetProxy } from '../../adapters/proxy/tourniquet.js';
import type { IssueSpec, ProxyAdapter } from '../../adapters/proxy/types.js';
import { stripeClient, type RefundTarget } from '../../demo/refund-agent.js';
import { CONSUMER_NAMES, type Consumer } from '../../demo/consumers.js';
import { seedBaseline } from './baseline.js';
import { MemoryStore } from '../../proxy/store/memory.js';
import { rebuildCommand, sqliteBindingError, sqliteUsable } from '../sqlite-binding.js';

/**
 * Everything the demo runs on, on loopback and in one temp directory: the sandbox vendors,
 * our proxy on an embedded SQLite store, vault keys for the refund agent and the two other
 * consumers, and charges to refund. `stop()` closes every server and deletes the directory.
 */
export type DemoStore = 'auto' | 'sqlite' | 'memory';

export interface DemoStageOptions {
  timeScale: number;
  tailMode: TailMode;
  /** auto: SQLite when its native module is built here, else the in-memory store. */
  store?: DemoStore;
}

export interface DemoStage {
  dir: string;
  sandbox: Sandbox;
  proxy: RunningProxy;
  admin: ProxyAdapter;
  adminToken: string;
  /** Environment for a tourniquet session against this stage (proxy, token, state dir, no profile). */
  env: Record<string, string>;
  /** Which store the proxy runs on, and why when it is not SQLite. */
  store: { kind: 'sqlite' | 'memory'; note: string | null };
  agentKey: { id: string; secret: string };
  consumers: Consumer[];
  targets: RefundTarget[];
  stop(): Promise<void>;
}

async function seedCharges(sandbox: Sandbox, n: number): Promise<RefundTarget[]> {
  const stripe = stripeClient(sandbox.keys.stripe.secret, sandbox.urls.stripe);
  const out: RefundTarget[] = [];
  for (let i = 0; i < n; i++) {
    const customer = await stripe.customers.create({ email: `customer${i + 1}@example.com` });
    const charge = await stripe.charges.create({
      amount: 4900 + i * 700,
      currency: 'usd',
      customer: customer.id,
      source: 'tok_visa',
    });
    out.push({ charge: charge.id, customer: customer.id });
  }
  return out;
}

const issue = (admin: ProxyAdapter, spec: IssueSpec & { customer_id_path?: string }) => admin.issueVaultKey(spec);

async function chooseStore(want: DemoStore): Promise<DemoStage['store']> {
  if (want === 'memory') return { kind: 'memory', note: null };
  if (await sqliteUsable()) return { kind: 'sqlite', note: null };
  if (want === 'sqlite') throw sqliteBindingError(new Error('better_sqlite3.node: could not locate the bindings file'));
  return {
    kind: 'memory',
    note: `better-sqlite3's native module is not built here, so the proxy keeps its state in memory for this demo (for SQLite: ${rebuildCommand()})`,
  };
}

export async function startStage(opts: DemoStageOptions): Promise<DemoStage> {
  const dir = mkdtempSync(join(tmpdir(), 'tourniquet-demo-'));
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const sandbox = await startSandbox({ timeScale: opts.timeScale, tailMode: opts.tailMode });
    stops.push(() => sandbox.stop());
    const adminToken = `demo_admin_${randomBytes(16).toString('hex')}`;
    const store = await chooseStore(opts.store ?? 'auto');
    const proxy = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: store.kind === 'sqlite' ? `sqlite:${join(dir, 'proxy.db')}` : new MemoryStore(),
      adminToken,
      upstreams: sandbox.urls,
      upstreamKeys: [{ vendor: 'stripe', secret: sandbox.keys.stripe.secret, label: 'main', state: 'active' }],
      log: false,
      shutdownGraceMs: 500,
    });
    stops.push(() => proxy.stop());
    const admin = createTourniquetProxy({ adminUrl: proxy.adminUrl, adminToken });
    const targets = await seedCharges(sandbox, 6);
    const agent = await issue(admin, {
      vendor: 'stripe',
      allowed_endpoints: ['POST /v1/refunds', 'GET /v1/charges/*'],
      agent_run_id: 'run_refunds_0214',
      labels: { agent: 'refund-agent', owner: 'support-automation' },
      customer_id_path: 'header.x-customer-id',
    });
    const consumers: Consumer[] = [];
    // Its normal work: looking up one charge a minute before deciding on a refund.
    const history = [
      {
        vault_key_id: agent.id,
        agent_run_id: 'run_refunds_0214',
        method: 'GET',
        path: `/v1/charges/${targets[0]!.charge}`,
      },
    ];
    for (const name of CONSUMER_NAMES) {
      const k = await issue(admin, {
        vendor: 'stripe',
        allowed_endpoints: ['GET /v1/charges', 'GET /v1/charges/*'],
        labels: { agent: name },
      });
      consumers.push({ name, key: k.secret, baseUrl: proxy.dataUrl });
      history.push({ vault_key_id: k.id, agent_run_id: '', method: 'GET', path: '/v1/charges' });
    }
    await seedBaseline(proxy, history, Date.now());
    const env = {
      TOURNIQUET_PROXY_URL: proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: adminToken,
      TOURNIQUET_STATE_DIR: join(dir, 'state'),
      TOURNIQUET_CONFIG_DIR: join(dir, 'config'),
    };
    return {
      dir,
      sandbox,
      proxy,
      admin,
      adminToken,
      env,
      store,
      agentKey: { id: agent.id, secret: agent.secret },
      consumers,
      targets,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
