import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastHistogram, type HistogramSeries } from './histogram.js';
import type { AuditRow, InstanceInfo } from './store/types.js';
import type { RequestLog } from './log.js';

/**
 * Prometheus metrics for one proxy instance, on its admin listener (`GET /metrics`, read scope).
 * Each instance has its own registry (never prom-client's global one: tests run several
 * instances in one process). Counters and histograms are updated as things happen; gauges that
 * describe the fleet are read when scraped, from memory and one short store query.
 */
export interface MetricsSources {
  instanceId: string;
  /** This instance's revision and last good sync, from memory. */
  revision: () => number;
  lastSyncAt: () => string;
  /** False while the instance fails closed (stale or unreachable store). */
  fresh: () => boolean;
  inFlight: () => number;
  auditQueued: () => number;
  storeRevision: () => Promise<number>;
  instances: () => Promise<InstanceInfo[]>;
  /** Budget held in leases now: dollars and calls (zero when limits are per instance). */
  leasesHeld?: () => { usd: number; calls: number };
}

const SCRAPE_STORE_TIMEOUT_MS = 1_000;

interface FleetFacts {
  up: boolean;
  lag: Map<string, number>;
  sync: Map<string, number>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error('store query timed out')), ms)),
  );
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'vendor' | 'verdict' | 'status'>;
  readonly addedLatency: FastHistogram;
  readonly vendorLatency: FastHistogram<'vendor'>;
  private readonly children = new Map<
    string,
    { labels: Record<'vendor' | 'verdict' | 'status', string>; uncounted: number; vendor: HistogramSeries }
  >();
  readonly auditCommit: FastHistogram;
  readonly revocations: Counter<'mode'>;
  readonly adminCalls: Counter<'action' | 'outcome'>;
  readonly leases: Counter<'kind' | 'outcome'>;

  constructor(private readonly src: MetricsSources) {
    const registers = [this.registry];
    const children = this.children;
    this.requests = new Counter({
      name: 'tourniquet_requests_total',
      help: 'Agent calls through the data plane, by vendor, policy verdict and HTTP status answered',
      labelNames: ['vendor', 'verdict', 'status'],
      registers,
      // Calls are counted in memory as they happen and added here when scraped: prom-client's inc hashes its labels every time.
      collect() {
        for (const c of children.values()) countInto(this, c);
      },
    });
    this.addedLatency = new FastHistogram(
      'tourniquet_added_latency_seconds',
      'Time the proxy added to a call (total minus time waiting on the vendor), every call',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      [],
      registers,
    );
    this.vendorLatency = new FastHistogram(
      'tourniquet_vendor_latency_seconds',
      'Time waiting on the vendor for forwarded calls',
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      ['vendor'],
      registers,
    );
    this.auditCommit = new FastHistogram(
      'tourniquet_audit_commit_seconds',
      'Time to commit one batch of audit rows',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5],
      [],
      registers,
    );
    this.revocations = new Counter({
      name: 'tourniquet_revocations_total',
      help: 'Vault keys revoked through this instance',
      labelNames: ['mode'],
      registers,
    });
    this.adminCalls = new Counter({
      name: 'tourniquet_admin_changes_total',
      help: 'State-changing admin calls through this instance, by action and outcome',
      labelNames: ['action', 'outcome'],
      registers,
    });
    this.leases = new Counter({
      name: 'tourniquet_budget_leases_total',
      help: 'Budget and rate leases taken from or given back to the store, by kind (usd, calls) and outcome',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.gauges(registers);
    collectDefaultMetrics({ register: this.registry });
  }

  private gauges(registers: Registry[]): void {
    const src = this.src;
    new Gauge({
      name: 'tourniquet_audit_queue_depth',
      help: 'Audit rows waiting to be committed',
      registers,
      collect() {
        this.set(src.auditQueued());
      },
    });
    new Gauge({
      name: 'tourniquet_in_flight_requests',
      help: 'Agent calls being forwarded now',
      registers,
      collect() {
        this.set(src.inFlight());
      },
    });
    new Gauge({
      name: 'tourniquet_budget_lease_held',
      help: 'Budget held by this instance in leases now (kind usd: dollars; calls: calls)',
      labelNames: ['kind'],
      registers,
      collect() {
        const held = src.leasesHeld?.() ?? { usd: 0, calls: 0 };
        this.set({ kind: 'usd' }, held.usd);
        this.set({ kind: 'calls' }, held.calls);
      },
    });
    // The three fleet gauges share one store query per scrape (prom-client collects them concurrently).
    let pending: Promise<FleetFacts> | null = null;
    const facts = () => {
      pending ??= this.fleetFacts().finally(() => setImmediate(() => (pending = null)));
      return pending;
    };
    new Gauge({
      name: 'tourniquet_store_up',
      help: '1 when this instance is in step with its store and the store answered this scrape',
      registers,
      async collect() {
        this.set((await facts()).up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'tourniquet_instance_revision_lag',
      help: 'Store revisions an instance is behind (at its last heartbeat; this instance: now)',
      labelNames: ['instance_id'],
      registers,
      async collect() {
        this.reset();
        for (const [id, lag] of (await facts()).lag) this.set({ instance_id: id }, lag);
      },
    });
    new Gauge({
      name: 'tourniquet_instance_last_sync_timestamp_seconds',
      help: 'When an instance last synced with the store (Unix time)',
      labelNames: ['instance_id'],
      registers,
      async collect() {
        this.reset();
        for (const [id, at] of (await facts()).sync) this.set({ instance_id: id }, at);
      },
    });
  }

  private async fleetFacts(): Promise<FleetFacts> {
    const src = this.src;
    const out: FleetFacts = {
      up: false,
      lag: new Map(),
      sync: new Map([[src.instanceId, Date.parse(src.lastSyncAt()) / 1000]]),
    };
    try {
      const [rev, all] = await withTimeout(
        Promise.all([src.storeRevision(), src.instances()]),
        SCRAPE_STORE_TIMEOUT_MS,
      );
      out.lag.set(src.instanceId, Math.max(0, rev - src.revision()));
      for (const i of all) {
        if (i.instance_id === src.instanceId) continue;
        out.lag.set(i.instance_id, Math.max(0, rev - (i.revision ?? 0)));
        out.sync.set(i.instance_id, Date.parse(i.last_sync_at) / 1000);
      }
      out.up = src.fresh();
    } catch {
      out.up = false;
    }
    return out;
  }

  /** Called with every audited data-plane call; `vendorMs` is null when the call was not forwarded. */
  observeRequest(row: AuditRow, status: number, vendorMs: number | null = null): void {
    const vendor = row.vendor ?? 'unknown';
    const key = `${vendor} ${row.policy_verdict} ${status}`;
    let children = this.children.get(key);
    if (!children) {
      if (this.children.size >= 4096) {
        for (const c of this.children.values()) countInto(this.requests, c);
        this.children.clear();
      }
      children = {
        labels: { vendor, verdict: row.policy_verdict, status: String(status) },
        uncounted: 0,
        vendor: this.vendorLatency.series({ vendor }),
      };
      this.children.set(key, children);
    }
    children.uncounted++;
    const total = row.latency_ms / 1000;
    if (vendorMs !== null) children.vendor.observe(vendorMs / 1000);
    this.addedLatency.observe(Math.max(0, total - (vendorMs ?? 0) / 1000));
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Add the calls counted since the last scrape to the counter. */
function countInto(
  counter: Counter<'vendor' | 'verdict' | 'status'>,
  c: { labels: Record<'vendor' | 'verdict' | 'status', string>; uncounted: number },
): void {
  if (c.uncounted === 0) return;
  counter.inc(c.labels, c.uncounted);
  c.uncounted = 0;
}

/** The request log the data plane writes to, counting each call into the metrics on the way. */
export function observedLog(log: RequestLog, metrics: ProxyMetrics | null): RequestLog {
  if (!metrics) return log;
  return {
    ...log,
    request(row, status, vendorMs) {
      metrics.observeRequest(row, status, vendorMs ?? null);
      log.request(row, status, vendorMs);
    },
  };
}
