import type { Aggregate, AuditSource, Counted, DamageQuery } from '../types.js';
import type { AnswerCheck, HttpClient } from '../../http.js';
import { addEndpoint, emptyAggregate, toMicros } from '../accumulate.js';
import { TourniquetError } from '../../errors.js';
import { expectRoute } from '../../../adapters/proxy/schemas.js';
import type { AuditSummary } from '../../../adapters/proxy/answers.js';
import { MINUTE_MS, parseAuditTime, toIso } from '../time.js';

/** How far before a revoke to look for calls still in flight when it landed. */
export const IN_FLIGHT_LOOKBACK_MS = 5 * MINUTE_MS;
const MAX_IN_FLIGHT_PAGES = 20;

type CountCost = { calls: number; cost_usd?: number };

const isSummary = expectRoute('GET /v1/audit/summary');
/** The summary, or an older proxy's 400 (an error body) refusing the `revoked_at` parameter it does not know. */
const summaryOrRefusedRevokedAt: AnswerCheck<AuditSummary> = (body, status) =>
  isSummary(body, status) ??
  (status === 400 && !JSON.stringify(body).includes('revoked_at') ? 'a 400 that does not name revoked_at' : undefined);
const counted = (c: CountCost): Counted => ({ calls: Number(c.calls), cost_micros: toMicros(Number(c.cost_usd ?? 0)) });

function filterQuery(q: DamageQuery, from: number | undefined, to: number | undefined) {
  return {
    from: toIso(from) ?? undefined,
    to: toIso(to) ?? undefined,
    vault_key_id: q.vault_key_id,
    agent_run_id: q.agent_run_id,
    customer_scope_id: q.customer_scope_id,
  };
}

type ProxyMinute = { minute: string; calls: number; cost_usd?: number; calls_cost_unknown?: number };

/** One minute of the summary; a proxy from before per-minute cost leaves the cost unknown (null), not $0. */
function addProxyMinute(
  a: Aggregate,
  m: { minute: string; calls: number; cost_usd?: number; calls_cost_unknown?: number },
) {
  const minute = Math.floor(parseAuditTime(m.minute) / MINUTE_MS);
  a.per_minute.set(minute, Number(m.calls));
  if (typeof m.cost_usd !== 'number') a.per_minute_cost = null;
  else a.per_minute_cost?.set(minute, toMicros(m.cost_usd));
  if (typeof m.calls_cost_unknown !== 'number') a.per_minute_cost_unknown = null;
  else a.per_minute_cost_unknown?.set(minute, m.calls_cost_unknown);
}

/** The proxy's summary endpoint body, as an Aggregate. */
export function fromProxySummary(b: AuditSummary, withRevoke: boolean): Aggregate {
  const a = emptyAggregate(withRevoke);
  a.calls_total = Number(b.calls_total);
  a.cost_micros = toMicros(Number(b.cost_usd ?? 0));
  for (const [v, n] of Object.entries(b.by_verdict ?? {})) a.by_verdict.set(v, Number(n));
  for (const c of b.customers ?? []) a.customers.set(c.customer_scope_id ?? null, counted(c));
  for (const e of b.endpoints ?? []) addEndpoint(a, e.method ?? null, e.path ?? null, counted(e));
  for (const m of (b as { per_minute?: ProxyMinute[] }).per_minute ?? []) addProxyMinute(a, m);
  for (const r of b.agent_runs ?? []) a.agent_runs.set(r.agent_run_id ?? null, counted(r));
  for (const k of b.vault_keys ?? []) a.vault_keys.set(k.vault_key_id ?? null, counted(k));
  a.first_call = b.first_call ? parseAuditTime(b.first_call) : null;
  a.last_call = b.last_call ? parseAuditTime(b.last_call) : null;
  // C6: required by the summary's schema. Unknown cost: only when the proxy counts it.
  const o = b.outcome_unknown;
  a.outcome_unknown = { calls: Number(o.calls), estimated_micros: toMicros(Number(o.amount_usd_estimated)) };
  a.cost_unknown_calls = typeof b.calls_cost_unknown === 'number' ? b.calls_cost_unknown : null;
  return a;
}

/**
 * Our proxy's admin API. The proxy aggregates (GET /v1/audit/summary); rows are never shipped,
 * except the few started in the minutes before a revoke, to see which were still in flight.
 */
export class ProxySource implements AuditSource {
  readonly label: string;

  constructor(private readonly admin: HttpClient) {
    this.label = `proxy:${admin.baseUrl}`;
  }

  private async summary(
    q: DamageQuery,
    from: number | undefined,
    to: number | undefined,
    revokedAt?: number,
  ): Promise<AuditSummary | null> {
    const query = { ...filterQuery(q, from, to), revoked_at: toIso(revokedAt) ?? undefined };
    try {
      const res = await this.admin.get('/v1/audit/summary', {
        query,
        // An older proxy refuses revoked_at (400 naming it): the caller then asks without it.
        accept: revokedAt === undefined ? undefined : [400],
        expect: revokedAt === undefined ? isSummary : summaryOrRefusedRevokedAt,
      });
      return res.status === 400 ? null : res.body;
    } catch (err) {
      if (err instanceof TourniquetError && err.kind === 'not-found')
        throw new TourniquetError('not-found', `${err.message}: no audit summary at ${this.admin.baseUrl}`, {
          hint: 'is proxy_url a tourniquet proxy admin API? For LiteLLM: tourniquet config set proxy_kind litellm',
        });
      throw err;
    }
  }

  /**
   * With a revoke time, one request: the proxy reads the summary and the after-revoke counts in
   * one snapshot, so rows committed while damage runs are in none of the figures and they cannot
   * disagree. An older proxy gets three requests bounded by one end time (the query's `to` or the
   * moment the first was sent) instead: rows written between them are left out of all three, but
   * each is its own read.
   */
  async aggregate(q: DamageQuery): Promise<Aggregate> {
    const to = q.to ?? Date.now();
    const withRevoke = q.revoked_at !== undefined;
    const revokedAt = withRevoke ? Math.min(q.revoked_at!, to) : undefined;
    const one = withRevoke ? await this.summary(q, q.from, to, revokedAt) : null;
    const body = one ?? (await this.summary(q, q.from, to))!;
    const agg = fromProxySummary(body, withRevoke);
    if (one?.after_revoke) {
      const a = one.after_revoke;
      agg.after_revoke = { later: a.later, later_allowed: a.later_allowed, in_flight: a.in_flight };
    } else if (withRevoke) {
      const from = Math.max(q.revoked_at!, q.from ?? q.revoked_at!);
      const later = from >= to ? null : await this.summary(q, from, to);
      agg.after_revoke = {
        later: Number(later?.calls_total ?? 0),
        later_allowed: Number(later?.calls_allowed ?? 0),
        in_flight: await this.inFlight(q, revokedAt!),
      };
    }
    return agg;
  }

  /** Rows started shortly before the revoke that finished after it; null if the rows are not readable. */
  private async inFlight(q: DamageQuery, revokedAt: number): Promise<number | null> {
    const from = Math.max(revokedAt - IN_FLIGHT_LOOKBACK_MS, q.from ?? -Infinity);
    let cursor: string | undefined;
    let n = 0;
    try {
      for (let page = 0; page < MAX_IN_FLIGHT_PAGES; page++) {
        const res = await this.admin.get('/v1/audit', {
          query: { ...filterQuery(q, from, revokedAt), limit: 1000, cursor },
          expect: expectRoute('GET /v1/audit'),
        });
        const rows = res.body.data;
        n += rows.filter((r) => parseAuditTime(r.finished_at) > revokedAt).length;
        cursor = res.body.next_cursor ?? undefined;
        if (!cursor) return n;
      }
      return null;
    } catch {
      return null;
    }
  }
}
