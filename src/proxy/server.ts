import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import type { ProxyStore } from './store/types.js';
import { openStore, singleInstance } from './store/open.js';
import { PolicyState, randomToken } from './state.js';
import { UsageTracker } from './usage.js';
import { AuditWriter } from './audit-writer.js';
import { InflightRegistry } from './inflight.js';
import { buildVendorTable, type VendorOverride } from './vendors.js';
import { createDataPlane } from './data-plane.js';
import { createAdminPlane } from './admin/index.js';
import { ProxyService } from './service.js';
import { jsonLog, silentLog, type RequestLog } from './log.js';
import type { UpstreamTimeouts } from './forward.js';
import { FleetSync, type FleetOptions } from './fleet/sync.js';
import { failClosed } from './fleet/gate.js';

export interface ConfiguredUpstreamKey {
  /** Stable id so audit rows and pins survive restarts; derived from vendor+label when absent. */
  id?: string;
  vendor: string;
  secret: string;
  state?: 'active' | 'standby';
  label?: string;
  account_sid?: string;
}

export interface ProxyOptions {
  /** `HOST:PORT` for the data plane (agents); default 127.0.0.1:8787; port 0 picks one. */
  listen?: string;
  /** `HOST:PORT` for the admin API; default 127.0.0.1:8788. */
  adminListen?: string;
  /** `sqlite:PATH` (default `sqlite:./tourniquet.db`) or a store instance. */
  store?: string | ProxyStore;
  adminToken: string;
  /** vendor → base URL (`--upstream stripe=http://127.0.0.1:4010`). */
  upstreams?: Record<string, string>;
  vendors?: Record<string, VendorOverride>;
  /** Production keys named in the config file: kept in memory, never written to the store. */
  upstreamKeys?: ConfiguredUpstreamKey[];
  /** Request log; default one JSON line per request on stderr; false for none. */
  log?: RequestLog | false;
  maxBodyBytes?: number;
  timeouts?: Partial<UpstreamTimeouts>;
  /** How long `stop()` lets in-flight requests finish before cutting them. */
  shutdownGraceMs?: number;
  /** Sync cadence and the fail-closed bound for a shared store (fleet/sync.ts). */
  fleet?: FleetOptions;
}

export interface RunningProxy {
  dataUrl: string;
  adminUrl: string;
  instanceId: string;
  service: ProxyService;
  audit: AuditWriter;
  fleet: FleetSync;
  stop(): Promise<void>;
}

function parseListen(spec: string, fallbackPort: number): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?:)?(\d+)$/.exec(spec.trim());
  if (!m) throw new Error(`listen address "${spec}" is not HOST:PORT`);
  return { host: m[1] || '127.0.0.1', port: m[2] === undefined ? fallbackPort : Number(m[2]) };
}

function listen(server: Server, spec: string, fallbackPort: number): Promise<string> {
  const { host, port } = parseListen(spec, fallbackPort);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

function closeServer(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    server.close(() => (clearTimeout(timer), resolve()));
    server.closeIdleConnections();
  });
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const instanceId = `inst_${randomToken(12)}`;
  const startedAt = new Date().toISOString();
  const log = opts.log === false ? silentLog : (opts.log ?? jsonLog((l) => process.stderr.write(l)));
  const store = typeof opts.store === 'object' ? opts.store : await openStore(opts.store ?? 'sqlite:./tourniquet.db');
  if (typeof opts.store === 'object') await store.init();
  const overrides: Record<string, VendorOverride> = { ...opts.vendors };
  for (const [v, url] of Object.entries(opts.upstreams ?? {})) overrides[v] = { ...overrides[v], baseUrl: url };
  const vendors = buildVendorTable(overrides);
  const state = new PolicyState();
  const usage = new UsageTracker();
  const inflight = new InflightRegistry();
  const audit = new AuditWriter(store);
  const service = new ProxyService(store, state, inflight, new Set(vendors.keys()));

  state.apply(await store.changesSince(0));
  for (const k of opts.upstreamKeys ?? []) await service.addUpstream(k, true, k.id ?? `up_cfg_${k.vendor}_${(k.label ?? 'default').replace(/[^A-Za-z0-9]/g, '_')}`);
  const today = new Date().toISOString().slice(0, 10) + 'T00:00:00.000Z';
  for (const [id, usd] of await store.spendByVaultKey(today)) usage.seedSpend(id, usd);

  let dataUrl = '';
  let adminUrl = '';
  // Other instances' changes (NOTIFY, and a reconcile poll for lost notifications); a shared
  // store also gates the data plane: stale state means 503, never a forward.
  const fleet = new FleetSync(
    { store, state, log, self: () => ({ instance_id: instanceId, data_plane_url: dataUrl, admin_url: adminUrl, started_at: startedAt }), onHardRevoked: (id) => void inflight.abortKey(id) },
    opts.fleet ?? (singleInstance(store) ? { heartbeatMs: 10_000 } : {}),
  );
  const shared = !singleInstance(store);
  await fleet.trigger(true); // catch up on whatever changed while this instance was starting

  const t = opts.timeouts ?? {};
  const timeouts: UpstreamTimeouts = { connectMs: t.connectMs ?? 5_000, headersMs: t.headersMs ?? 60_000, bodyMs: t.bodyMs ?? 120_000 };
  const dispatcher = new Agent({ connect: { timeout: timeouts.connectMs }, keepAliveTimeout: 30_000, connections: 512 });
  const dataServer = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0 },
    failClosed(
      () => !shared || fleet.fresh(),
      createDataPlane({ state, usage, audit, vendors, dispatcher, instanceId, log, inflight, maxBodyBytes: opts.maxBodyBytes ?? 1 << 20, timeouts }),
    ),
  );
  const facts = { instanceId, dataUrl: () => dataUrl, adminUrl: () => adminUrl, startedAt, lastSyncAt: () => fleet.lastSyncAt, storeFresh: () => !shared || fleet.fresh() };
  const adminServer = createServer({ keepAliveTimeout: 5_000 }, createAdminPlane(service, usage, opts.adminToken, facts, log));
  dataUrl = await listen(dataServer, opts.listen ?? '127.0.0.1:8787', 8787);
  adminUrl = await listen(adminServer, opts.adminListen ?? '127.0.0.1:8788', 8788);
  await fleet.heartbeat();
  fleet.start();
  log.info('proxy listening', { instance_id: instanceId, data_plane_url: dataUrl, admin_url: adminUrl, store: store.kind });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      await fleet.stop();
      await (store as { deregister?: (id: string) => Promise<void> }).deregister?.(instanceId).catch(() => {});
      const grace = opts.shutdownGraceMs ?? 10_000;
      // Finish what is in flight, then make sure every audit row is durable, then close.
      await Promise.all([closeServer(dataServer, grace), closeServer(adminServer, 1_000)]);
      await audit.drain();
      await store.close();
      await dispatcher.close().catch(() => {});
      log.info('proxy stopped', { instance_id: instanceId, audit_rows: audit.rows, audit_batches: audit.batches });
      log.flush?.();
    })());
  return { dataUrl, adminUrl, instanceId, service, audit, fleet, stop };
}
