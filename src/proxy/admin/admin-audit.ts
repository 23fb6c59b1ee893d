import type { IncomingMessage } from 'node:http';
import type { RequestLog } from '../log.js';
import type { AdminToken } from './tokens.js';
import type { RouteScope } from './scopes.js';

/**
 * One row per admin call that changes (or tried to change) state: who (the token's name and
 * scope), what (action, targets, a few non-secret details), when, and from where (the peer
 * address, and X-Forwarded-For as sent: a load balancer's claim, not verified).
 */
export interface AdminAuditRow {
  id?: number;
  at: string;
  instance_id: string;
  token_name: string;
  scope: string;
  action: string;
  method: string;
  path: string;
  targets: string[];
  /** done: 2xx; refused: the token lacked the scope; failed: any other error answer. */
  outcome: 'done' | 'refused' | 'failed';
  status: number;
  remote_addr: string | null;
  forwarded_for: string | null;
  detail: Record<string, unknown>;
}

export interface AdminAuditFilter {
  from?: string;
  to?: string;
  token_name?: string;
  action?: string;
  target?: string;
}

export interface AdminAuditStore {
  appendAdminAudit(row: AdminAuditRow): Promise<void>;
  /** Oldest first. */
  queryAdminAudit(filter: AdminAuditFilter, limit: number): Promise<AdminAuditRow[]>;
}

export function isAdminAuditStore(s: object): s is AdminAuditStore {
  return typeof (s as Partial<AdminAuditStore>).appendAdminAudit === 'function';
}

/** Facts worth keeping from an answer; never a secret, a hint or a whole body. */
const DETAIL_FIELDS = [
  'vendor',
  'mode',
  'already_revoked',
  'in_flight_aborted',
  'state',
  'rolled_from',
  'upstream_key_id',
  'daily_usd_cap',
  'per_call_amount_cap',
  'calls_per_minute',
  'expires_at',
  'agent_run_id',
  'master_key_id',
  'rewrapped',
  'durable',
] as const;

export function targetsOf(params: string[], body: unknown): string[] {
  const out = new Set<string>(params.filter(Boolean));
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.id === 'string') out.add(b.id);
  for (const list of [b.revoked, b.ids])
    if (Array.isArray(list)) for (const x of list) if (typeof x === 'string') out.add(x);
  return [...out];
}

export function detailOf(url: URL, body: unknown): Record<string, unknown> {
  const d: Record<string, unknown> = {};
  const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  for (const f of DETAIL_FIELDS) if (b[f] !== undefined && b[f] !== null) d[f] = b[f];
  if (url.searchParams.get('hard') === 'true') d.hard = true;
  return d;
}

export interface CallFacts {
  req: IncomingMessage;
  /** The peer address, taken when the call arrived (the socket may be gone by the end). */
  remote: string | null;
  url: URL;
  caller: AdminToken;
  route: RouteScope;
  params: string[];
  status: number;
  body: unknown;
  instanceId: string;
}

export function adminAuditRow(f: CallFacts): AdminAuditRow {
  const fwd = f.req.headers['x-forwarded-for'];
  return {
    at: new Date().toISOString(),
    instance_id: f.instanceId,
    token_name: f.caller.name,
    scope: f.caller.scope,
    action: f.route.action ?? f.route.path,
    method: f.req.method ?? 'GET',
    path: f.url.pathname,
    targets: targetsOf(f.params, f.body),
    outcome: f.status === 403 ? 'refused' : f.status < 300 ? 'done' : 'failed',
    status: f.status,
    remote_addr: f.remote,
    forwarded_for: typeof fwd === 'string' ? fwd.slice(0, 200) : null,
    detail:
      f.status < 300
        ? detailOf(f.url, f.body)
        : { error: (f.body as { error?: { code?: string } })?.error?.code ?? null, ...detailOf(f.url, null) },
  };
}

/**
 * Writes admin-audit rows; the answer waits for its row. A row the store cannot take now (an
 * outage) is kept and retried in the background, and is in the request log either way.
 */
export class AdminAuditLog {
  private backlog: AdminAuditRow[] = [];
  private timer: NodeJS.Timeout | null = null;
  static readonly MAX_BACKLOG = 10_000;

  constructor(
    private readonly store: AdminAuditStore | null,
    private readonly log: RequestLog,
  ) {}

  async record(row: AdminAuditRow): Promise<void> {
    this.log.info('admin call', {
      token: row.token_name,
      action: row.action,
      targets: row.targets,
      outcome: row.outcome,
      status: row.status,
      from: row.remote_addr,
    });
    if (!this.store) return;
    try {
      await this.store.appendAdminAudit(row);
    } catch (err) {
      this.log.error('admin audit row not written yet; retrying', err);
      if (this.backlog.length < AdminAuditLog.MAX_BACKLOG) this.backlog.push(row);
      this.timer ??= setInterval(() => void this.retry(), 1_000).unref();
    }
  }

  private async retry(): Promise<void> {
    while (this.backlog.length) {
      try {
        await this.store!.appendAdminAudit(this.backlog[0]!);
        this.backlog.shift();
      } catch {
        return;
      }
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** At shutdown: one last try for what is waiting. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.retry();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
