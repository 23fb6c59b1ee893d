import type { Aggregate, AuditRow, Counted, DamageQuery } from './types.js';
import { MINUTE_MS } from './time.js';
import { endpointTemplate } from '../../proxy/store/audit-shared.js';

/** Verdicts that mean the proxy let the call through to the vendor. */
export const ALLOWED_VERDICTS: ReadonlySet<string> = new Set(['allowed', 'allow', 'ok', 'pass']);

export const MAX_BAD_LINES = 5;

export function emptyAggregate(withRevoke: boolean): Aggregate {
  return {
    calls_total: 0,
    cost_micros: 0,
    by_verdict: new Map(),
    customers: new Map(),
    endpoints: new Map(),
    per_minute: new Map(),
    agent_runs: new Map(),
    vault_keys: new Map(),
    first_call: null,
    last_call: null,
    after_revoke: withRevoke ? { in_flight: 0, later: 0, later_allowed: 0 } : null,
    bad_rows: { count: 0, first_lines: [] },
  };
}

export const toMicros = (usd: number) => Math.round(usd * 1_000_000);

function bump<K>(map: Map<K, Counted>, key: K, micros: number): void {
  const c = map.get(key);
  if (c) {
    c.calls++;
    c.cost_micros += micros;
  } else map.set(key, { calls: 1, cost_micros: micros });
}

/** Endpoints are grouped by path template (`/v1/charges/{id}`), as the proxy groups them. */
export function addEndpoint(a: Aggregate, method: string | null, path: string | null, c: Counted): void {
  const key = `${method ?? ''} ${path ?? ''}`;
  const ep = a.endpoints.get(key);
  if (ep) {
    ep.calls += c.calls;
    ep.cost_micros += c.cost_micros;
  } else a.endpoints.set(key, { method, path, calls: c.calls, cost_micros: c.cost_micros });
}

/** Templates of recently seen paths; bounded, so a million distinct ids cannot grow it. */
class TemplateCache {
  private readonly map = new Map<string, string>();
  of(path: string): string {
    let t = this.map.get(path);
    if (t === undefined) {
      t = endpointTemplate(path);
      if (this.map.size >= 10_000) this.map.clear();
      this.map.set(path, t);
    }
    return t;
  }
}

/**
 * Aggregation in JavaScript for the sources that stream rows (JSONL, CSV, LiteLLM): one pass,
 * memory bounded by the number of distinct customers, endpoints and minutes, not by rows.
 */
export class Accumulator {
  readonly agg: Aggregate;
  private readonly templates = new TemplateCache();

  constructor(private readonly query: DamageQuery) {
    this.agg = emptyAggregate(query.revoked_at !== undefined);
  }

  /** True when the row is inside the query's window and filters. */
  matches(row: AuditRow): boolean {
    const q = this.query;
    if (q.from !== undefined && row.started_at < q.from) return false;
    if (q.to !== undefined && row.started_at >= q.to) return false;
    if (q.vault_key_id !== undefined && row.vault_key_id !== q.vault_key_id) return false;
    if (q.agent_run_id !== undefined && row.agent_run_id !== q.agent_run_id) return false;
    if (q.customer_scope_id !== undefined && row.customer_scope_id !== q.customer_scope_id) return false;
    return true;
  }

  add(row: AuditRow): void {
    if (!this.matches(row)) return;
    const a = this.agg;
    const micros = toMicros(row.cost_usd);
    a.calls_total++;
    a.cost_micros += micros;
    a.by_verdict.set(row.policy_verdict, (a.by_verdict.get(row.policy_verdict) ?? 0) + 1);
    const minute = Math.floor(row.started_at / MINUTE_MS);
    a.per_minute.set(minute, (a.per_minute.get(minute) ?? 0) + 1);
    if (ALLOWED_VERDICTS.has(row.policy_verdict)) this.breakdowns(row, micros);
    if (a.first_call === null || row.started_at < a.first_call) a.first_call = row.started_at;
    if (a.last_call === null || row.started_at > a.last_call) a.last_call = row.started_at;
    if (a.after_revoke) this.afterRevoke(row);
  }

  /** Who and what the money moved for: allowed calls only, as the proxy's own summary counts them. */
  private breakdowns(row: AuditRow, micros: number): void {
    const a = this.agg;
    bump(a.customers, row.customer_scope_id, micros);
    const path = row.path === null ? null : this.templates.of(row.path);
    addEndpoint(a, row.method, path, { calls: 1, cost_micros: micros });
    bump(a.agent_runs, row.agent_run_id, micros);
    bump(a.vault_keys, row.vault_key_id, micros);
  }

  private afterRevoke(row: AuditRow): void {
    const revokedAt = this.query.revoked_at!;
    const ar = this.agg.after_revoke!;
    if (row.started_at >= revokedAt) {
      ar.later++;
      if (ALLOWED_VERDICTS.has(row.policy_verdict)) ar.later_allowed++;
    } else if (row.finished_at !== null && row.finished_at > revokedAt) ar.in_flight!++;
  }

  bad(line: number): void {
    const b = this.agg.bad_rows;
    b.count++;
    if (b.first_lines.length < MAX_BAD_LINES) b.first_lines.push(line);
  }
}
