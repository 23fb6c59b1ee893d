import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { Agent } from 'undici';
import type { ProxyStore } from './store/types.js';
import { embeddedFile, openStore, singleInstance } from './store/open.js';
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
import { gate } from './fleet/gate.js';
import { StoreHealth, healthOf, recheckFreeSpace } from './health.js';
import { RevokeJournal } from './revoke-journal.js';
import { Revoker } from './revoke.js';
import { createDataServer, type DataServerLimits } from './data-server.js';
import { startupError } from './startup.js';
import type { AdminTokens } from './admin/tokens.js';
import type { MasterKeyring, MasterKeySource } from './crypto/master-key.js';
import type { KeysAtRest } from './crypto/at-rest.js';
import { observedLog, type ProxyMetrics } from './metrics.js';
import { adminExposureWarning, checkDistinctListeners, splitListen } from './exposure.js';
import { adminSecurity, loadCredentials, openKeysAtRest, reloadSecurity, type ReloadReport } from './security.js';
import { usageError } from '../core/errors.js';
import { limitsFor, type LeaseOptions, type Limits } from './limits/index.js';

export interface ConfiguredUpstreamKey {
  /** Stable id so audit rows and pins survive restarts; derived from vendor+label when absent. */
  id?: string;
  vendor: string;
  secret: string;
  state?: 'active' | 'standby';
  label?: string;
  account_sid?: string;
}

export type { ReloadReport };

export interface ProxyOptions {
  /** `HOST:PORT` for the data plane (agents); default 127.0.0.1:8787; port 0 picks one. */
  listen?: string;
  /** `HOST:PORT` for the admin API; default 127.0.0.1:8788. */
  adminListen?: string;
  /** `sqlite:PATH` (default `sqlite:./tourniquet.db`) or a store instance. */
  store?: string | ProxyStore;
  /** One full-power admin token (named `admin`); `adminTokens` gives named, scoped ones. At least one. */
  adminToken?: string;
  /** The token file (path) of named, scoped admin tokens, or tokens already loaded. */
  adminTokens?: string | AdminTokens;
  /** Seals production keys added through the admin API; without one they are refused (409 master_key_missing). */
  masterKey?: MasterKeyring | MasterKeySource | null;
  /** Prometheus metrics at `GET /metrics` on the admin listener (default on). */
  metrics?: boolean;
  /** The operator says TLS is terminated in front of the admin listener: no exposure warning. */
  adminBehindTls?: boolean;
  /** Lease sizes and deadlines of fleet-wide limits (limits/lease-common.ts). */
  leases?: LeaseOptions;
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
  /**
   * Directory of the local journal of revokes not yet in the store (revoke-journal.ts). Default:
   * `PATH.revokes` next to a SQLite file; none for other stores unless given (the CLI gives one).
   */
  revokeJournal?: string | false;
  /** Header/request deadlines and connection caps of the data plane (data-server.ts). */
  dataPlane?: DataServerLimits;
  /** How long a call waits for its write-ahead audit row before it is refused (default 2 s). */
  auditDeadlineMs?: number;
  /**
   * Also listen on ports of this instance's own (the hosts of `listen` and `adminListen`, port 0,
   * not shared with node:cluster) and advertise those in the instance registry and `/v1/health`.
   * For cluster workers, which share `listen`/`adminListen`: a check of one instance (a revoke's
   * verdict, a drill's call) must reach that instance, not whichever worker takes the connection.
   */
  ownListeners?: boolean;
}

export interface RunningProxy {
  /** This instance's own addresses, as the registry advertises them. */
  dataUrl: string;
  adminUrl: string;
  /** The addresses of `listen` and `adminListen` (the same as the above unless `ownListeners`). */
  listenUrls: { data: string; admin: string };
  instanceId: string;
  service: ProxyService;
  audit: AuditWriter;
  fleet: FleetSync;
  health: StoreHealth;
  metrics: ProxyMetrics | null;
  keys: KeysAtRest;
  /** Rate and spend limits (fleet-wide leases on a shared store). */
  limits: Limits;
  /** SIGHUP: re-read the admin token file and the master key source. */
  reload(): Promise<ReloadReport>;
  stop(): Promise<void>;
}

/** Listen on `spec`; `own`: on a port of its own (port 0, never shared by node:cluster). */
function listen(server: Server, spec: string, fallbackPort: number, own = false): Promise<string> {
  const { host, port } = splitListen(spec, fallbackPort);
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE' || err.code === 'EADDRNOTAVAIL' || err.code === 'EACCES'
          ? usageError(`cannot listen on ${spec}: ${err.code}`, 'choose another address with --listen / --admin-listen')
          : err,
      ),
    );
    server.listen({ port: own ? 0 : port, host, exclusive: own }, () => {
      server.removeAllListeners('error');
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

/** The journal directory: given, or next to the SQLite file. */
function journalDir(opts: ProxyOptions, store: ProxyStore): string | null {
  if (opts.revokeJournal === false) return null;
  if (opts.revokeJournal) return opts.revokeJournal;
  const path = embeddedFile(store);
  return path === null ? null : resolve(dirname(path), `${path.split('/').pop()}.revokes`);
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const instanceId = `inst_${randomToken(12)}`;
  const startedAt = new Date().toISOString();
  const log = opts.log === false ? silentLog : (opts.log ?? jsonLog((l) => process.stderr.write(l)));
  const health = new StoreHealth();
  checkDistinctListeners(opts.listen ?? '127.0.0.1:8787', opts.adminListen ?? '127.0.0.1:8788');
  const credentials = await loadCredentials(opts);
  let raw: ProxyStore | undefined;
  let journal: RevokeJournal | null = null;
  try {
    raw = typeof opts.store === 'object' ? opts.store : await openStore(opts.store ?? 'sqlite:./tourniquet.db');
    if (typeof opts.store === 'object') await raw.init();
    const dir = journalDir(opts, raw);
    if (dir) journal = await RevokeJournal.open(dir, instanceId);
    return await assemble(opts, {
      instanceId,
      startedAt,
      log,
      health,
      store: health.observe(raw),
      journal,
      ...credentials,
    });
  } catch (err) {
    await journal?.close().catch(() => {});
    if (raw && typeof opts.store !== 'object') await raw.close().catch(() => {});
    throw startupError(err, opts.store);
  }
}

interface Basics {
  instanceId: string;
  startedAt: string;
  log: RequestLog;
  health: StoreHealth;
  store: ProxyStore;
  journal: RevokeJournal | null;
  tokens: AdminTokens;
  ring: MasterKeyring | null;
}

async function assemble(opts: ProxyOptions, b: Basics): Promise<RunningProxy> {
  const { instanceId, startedAt, log, health, store, journal, tokens } = b;
  const overrides: Record<string, VendorOverride> = { ...opts.vendors };
  for (const [v, url] of Object.entries(opts.upstreams ?? {})) overrides[v] = { ...overrides[v], baseUrl: url };
  const vendors = buildVendorTable(overrides);
  const state = new PolicyState();
  const usage = new UsageTracker();
  const inflight = new InflightRegistry();
  const audit = new AuditWriter(store, { intentDeadlineMs: opts.auditDeadlineMs, onError: (m, e) => log.error(m, e) });
  const shared = !singleInstance(store);

  let dataUrl = '';
  let adminUrl = '';
  // Other instances' changes (NOTIFY, and a reconcile poll for lost notifications); a shared
  // store also gates the data plane: stale state means 503, never a forward.
  const fleet = new FleetSync(
    {
      store,
      state,
      log,
      shared,
      self: () => ({ instance_id: instanceId, data_plane_url: dataUrl, admin_url: adminUrl, started_at: startedAt }),
      onHardRevoked: (id) => void inflight.abortKey(id),
    },
    opts.fleet ?? (shared ? {} : { heartbeatMs: 10_000 }),
  );
  const revoker = new Revoker({ store, state, inflight, journal, fleet, log });
  const service = new ProxyService(store, state, inflight, new Set(vendors.keys()), revoker);

  const keys = await openKeysAtRest(store, b.ring, log, async () => state.apply(await store.changesSince(0)));
  revoker.restore(); // revokes refused before a restart stay refused, whatever the store says
  for (const k of opts.upstreamKeys ?? [])
    await service.addUpstream(
      k,
      true,
      k.id ?? `up_cfg_${k.vendor}_${(k.label ?? 'default').replace(/[^A-Za-z0-9]/g, '_')}`,
    );
  if (!shared) await store.sweepOutcomes(instanceId); // the previous process's pending rows: outcome unknown
  const today = new Date().toISOString().slice(0, 10) + 'T00:00:00.000Z';
  for (const [id, usd] of await store.spendByVaultKey(today)) usage.seedSpend(id, usd);
  await fleet.trigger(true); // catch up on whatever changed while this instance was starting

  const t = opts.timeouts ?? {};
  const timeouts: UpstreamTimeouts = {
    connectMs: t.connectMs ?? 5_000,
    headersMs: t.headersMs ?? 60_000,
    bodyMs: t.bodyMs ?? 120_000,
  };
  const dispatcher = new Agent({
    connect: { timeout: timeouts.connectMs },
    keepAliveTimeout: 30_000,
    connections: 512,
  });
  const sec = adminSecurity(opts, tokens, store, keys, log, {
    instanceId,
    revision: () => state.revision,
    lastSyncAt: () => fleet.lastSyncAt,
    fresh: () => (!shared || fleet.fresh()) && !health.failure,
    inFlight: () => inflight.count(),
    auditQueued: () => audit.backlog(),
    storeRevision: () => store.revision(),
    instances: () => store.listInstances(),
    leasesHeld: () => limits.held(),
  });
  const limits = limitsFor(store, shared, instanceId, usage, sec.metrics, opts.leases);
  audit.onCommit = (ms) => sec.metrics?.auditCommit.observe(ms / 1000);
  const status = () =>
    healthOf({ store: health, fresh: () => !shared || fleet.fresh(), syncFailing: () => fleet.failing });
  const dataPlane = gate(
    {
      shared,
      fresh: () => fleet.fresh(),
      resyncing: () => fleet.resyncing(),
      whenFresh: (ms) => fleet.whenFresh(ms),
      health: status,
    },
    createDataPlane({
      state,
      usage,
      audit,
      vendors,
      dispatcher,
      instanceId,
      log: observedLog(log, sec.metrics),
      limits,
      inflight,
      maxBodyBytes: opts.maxBodyBytes ?? 1 << 20,
      timeouts,
      freshness: shared ? fleet : undefined,
    }),
  );
  const dataServers = [createDataServer(dataPlane, opts.dataPlane)];
  const facts = {
    instanceId,
    dataUrl: () => dataUrl,
    adminUrl: () => adminUrl,
    startedAt,
    lastSyncAt: () => fleet.lastSyncAt,
    status,
    extra: () => ({
      pending_revokes: revoker.pendingCount,
      audit_backlog: audit.backlog(),
      audit_dropped: audit.dropped,
      stalls: fleet.stalls,
    }),
  };
  const adminPlane = createAdminPlane(service, usage, sec.access, facts, log, sec.routes);
  const adminServer = () =>
    createServer({ keepAliveTimeout: 5_000, headersTimeout: 10_000, requestTimeout: 30_000 }, adminPlane);
  const adminServers = [adminServer()];
  const listenUrls = {
    data: await listen(dataServers[0]!, opts.listen ?? '127.0.0.1:8787', 8787),
    admin: await listen(adminServers[0]!, opts.adminListen ?? '127.0.0.1:8788', 8788),
  };
  dataUrl = listenUrls.data;
  adminUrl = listenUrls.admin;
  if (opts.ownListeners) {
    dataServers.push(createDataServer(dataPlane, opts.dataPlane));
    adminServers.push(adminServer());
    dataUrl = await listen(dataServers[1]!, opts.listen ?? '127.0.0.1:8787', 8787, true);
    adminUrl = await listen(adminServers[1]!, opts.adminListen ?? '127.0.0.1:8788', 8788, true);
  }
  const exposed = adminExposureWarning(opts.adminListen ?? '127.0.0.1:8788', opts.adminBehindTls === true);
  if (exposed) log.warn?.(exposed);
  await fleet.heartbeat();
  fleet.start();
  // While the store fails, probe it twice a second, so health turns ok without waiting for traffic.
  let probing = false;
  const probe = setInterval(() => {
    if (!health.failure || probing) return;
    probing = true;
    void fleet
      .heartbeat()
      .then(() => recheckFreeSpace(health, store))
      .finally(() => (probing = false));
  }, 500);
  probe.unref();
  log.info('proxy listening', {
    instance_id: instanceId,
    data_plane_url: dataUrl,
    admin_url: adminUrl,
    ...(opts.ownListeners ? { shared_data_plane_url: listenUrls.data, shared_admin_url: listenUrls.admin } : {}),
    store: store.kind,
  });

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      clearInterval(probe);
      revoker.stop();
      await fleet.stop();
      await (store as { deregister?: (id: string) => Promise<void> }).deregister?.(instanceId).catch(() => {});
      const grace = opts.shutdownGraceMs ?? 10_000;
      // Finish what is in flight, then write what the audit still holds (bounded), then close.
      await Promise.all([
        ...dataServers.map((s) => closeServer(s, grace)),
        ...adminServers.map((s) => closeServer(s, 1_000)),
      ]);
      await limits.close();
      if (!(await audit.drain(3_000)))
        log.error('audit rows not written at stop (the store is failing); pending rows will read as outcome unknown');
      await journal?.close();
      await sec.audit.close();
      await store.close();
      await dispatcher.close().catch(() => {});
      log.info('proxy stopped', {
        instance_id: instanceId,
        audit_rows: audit.rows,
        audit_batches: audit.batches,
        audit_dropped: audit.dropped,
      });
      log.flush?.();
    })());
  const reload = () => reloadSecurity(tokens, keys, log);
  return {
    dataUrl,
    adminUrl,
    listenUrls,
    instanceId,
    service,
    audit,
    fleet,
    health,
    metrics: sec.metrics,
    keys,
    limits,
    reload,
    stop,
  };
}
