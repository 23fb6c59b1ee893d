import type { ProxyStore } from '../store/types.js';
import type { UsageTracker } from '../usage.js';
import type { ProxyMetrics } from '../metrics.js';
import { isBudgetStore } from '../store/postgres-budget.js';
import { FleetLimits } from './fleet.js';
import { LocalLimits } from './local.js';
import type { LeaseOptions } from './lease-common.js';
import type { Limits } from './types.js';

export type { Limits, LeaseOptions };

/** Fleet-wide limits on a shared store that can grant leases; exact local ones on the embedded store. */
export function limitsFor(
  store: ProxyStore,
  shared: boolean,
  instanceId: string,
  usage: UsageTracker,
  metrics: ProxyMetrics | null,
  leases?: LeaseOptions,
): Limits {
  if (!shared || !isBudgetStore(store)) return new LocalLimits(usage, leases?.settleWaitMs);
  return new FleetLimits(store, instanceId, usage, (kind, outcome) => metrics?.leases.inc({ kind, outcome }), leases);
}
