import type { ProxyStore } from './store/types.js';
import type { RequestLog } from './log.js';
import { AdminTokens } from './admin/tokens.js';
import { AdminAccess } from './admin/access.js';
import { AdminAuditLog, isAdminAuditStore } from './admin/admin-audit.js';
import { securityRoutes } from './admin/security-routes.js';
import type { Route } from './admin/http.js';
import { MasterKeyring, type MasterKeySource } from './crypto/master-key.js';
import { KeysAtRest } from './crypto/at-rest.js';
import { ProxyMetrics, type MetricsSources } from './metrics.js';

/**
 * The proxy's security setup in one place (issue 14): who may use the admin API, production
 * keys sealed at rest, metrics. `startProxy` loads it before it opens its listeners, so a bad
 * token file or a wrong master key stops the start with a clear error.
 */
export interface SecurityOptions {
  adminToken?: string;
  adminTokens?: string | AdminTokens;
  masterKey?: MasterKeyring | MasterKeySource | null;
  metrics?: boolean;
}

export async function loadCredentials(
  opts: SecurityOptions,
): Promise<{ tokens: AdminTokens; ring: MasterKeyring | null }> {
  const tokens =
    opts.adminTokens instanceof AdminTokens
      ? opts.adminTokens
      : await AdminTokens.load({ file: opts.adminTokens ?? null, single: opts.adminToken ?? null });
  const mk = opts.masterKey ?? null;
  // (a keyring by shape, not instanceof: a bundle or a loader may hold another copy of the class)
  const ring = mk === null ? null : 'from' in mk ? await MasterKeyring.load(mk) : mk;
  return { tokens, ring };
}

/** Attach the sealer, seal legacy plain text, load everything, check it all opened (the caller closes the store on failure). */
export async function openKeysAtRest(
  store: ProxyStore,
  ring: MasterKeyring | null,
  log: RequestLog,
  load: () => Promise<void>,
): Promise<KeysAtRest> {
  const keys = await KeysAtRest.attach(store, ring, log);
  await load();
  keys.checkOpened();
  return keys;
}

export interface AdminSecurity {
  access: AdminAccess;
  metrics: ProxyMetrics | null;
  routes: Route[];
  audit: AdminAuditLog;
}

export function adminSecurity(
  opts: SecurityOptions,
  tokens: AdminTokens,
  store: ProxyStore,
  keys: KeysAtRest,
  log: RequestLog,
  sources: MetricsSources,
): AdminSecurity {
  const metrics = opts.metrics === false ? null : new ProxyMetrics(sources);
  const audit = new AdminAuditLog(isAdminAuditStore(store) ? store : null, log);
  return {
    access: new AdminAccess(tokens, audit, metrics, sources.instanceId),
    metrics,
    routes: securityRoutes(store, metrics, keys),
    audit,
  };
}

export interface ReloadReport {
  tokens: { ok: true; tokens: number } | { ok: false; error: string };
  master_key: { ok: true; changed: boolean } | { ok: false; error: string };
}

/** SIGHUP: the token file and the master key source, each kept as it was if its new version is bad. */
export async function reloadSecurity(tokens: AdminTokens, keys: KeysAtRest, log: RequestLog): Promise<ReloadReport> {
  const t = await tokens.reload();
  let master_key: ReloadReport['master_key'];
  try {
    master_key = { ok: true, changed: await keys.reload() };
  } catch (err) {
    master_key = { ok: false, error: (err as Error).message };
  }
  if (t.ok) log.info('admin tokens reloaded', { tokens: t.tokens });
  else log.error('admin token file not reloaded; the tokens loaded before stay in force', t.error);
  if (!master_key.ok)
    log.error('master key source not re-read; the keys loaded before stay in force', master_key.error);
  else if (master_key.changed)
    log.info('master key source re-read: new data keys are wrapped with its first key', {
      master_key_id: keys.ring?.current.id,
    });
  return { tokens: t, master_key };
}
