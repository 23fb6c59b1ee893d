import type { DamageQuery } from '../types.js';
import { ALLOWED_VERDICTS } from '../accumulate.js';
import { quoteIdent, type ColumnMap } from '../columns.js';
import { saneCost, scope, timeParam, type Dialect, type SqlStatement } from './sql.js';

type Row = Record<string, unknown>;

/** One pass over the table; `split` sorts its rows into the results `assemble` reads, by statement name. */
export interface PostgresPass {
  name: 'timeline' | 'breakdowns' | 'undated';
  sql: string;
  params: unknown[];
  split(rows: Row[], into: Map<SqlStatement['name'], Row[]>): void;
}

const TIMESTAMP = { kind: 'timestamp' } as const;

/**
 * The summary in two passes over the table, not one per breakdown, run side by side:
 *
 *  timeline:   every call grouped by verdict and minute, then rolled up on the server (a few rows
 *              per minute) into the verdicts, the minutes, the after-revoke split and the calls
 *              whose outcome is unknown: what the verdicts, minutes, revoke and outcome statements
 *              of buildStatements count, from one scan instead of four.
 *  breakdowns: the allowed calls by customer, endpoint, run and key: one scan, four hash tables
 *              (GROUPING SETS).
 *
 * A sum of numeric stays exact through the roll-up (a sum of sums). A float column is added up per
 * verdict and minute first, then those sums: the order differs from one GROUP BY's (whose parallel
 * workers already add in no fixed order), within a float's rounding.
 */
export function postgresPasses(
  d: Dialect,
  table: string,
  c: ColumnMap,
  q: DamageQuery,
  strict: boolean,
  /** The table has the write-ahead columns (outcome, amount_usd_estimated): see outcomeProbe. */
  hasOutcome: boolean,
): PostgresPass[] {
  return [timeline(d, table, c, q, strict, hasOutcome), breakdowns(d, table, c, q, strict)];
}

/** Binds values after the filters' own: PostgreSQL's `$n` may be used more than once. */
function binder(d: Dialect, params: unknown[]) {
  return (v: unknown) => (params.push(v), d.param(params.length));
}

function timeline(
  d: Dialect,
  table: string,
  c: ColumnMap,
  q: DamageQuery,
  strict: boolean,
  hasOutcome: boolean,
): PostgresPass {
  const col = (name: keyof ColumnMap) => quoteIdent(c[name]);
  const [s, cost] = [col('started_at'), col('cost_usd_parsed')];
  const { filters, params, windowed } = scope(d, c, TIMESTAMP, q);
  const bind = binder(d, params);
  const allowed = `v IN (${[...ALLOWED_VERDICTS].map(bind).join(', ')})`;
  // The rows the verdicts count have a minute; the others (no start time, an insane cost once strict)
  // land in the NULL minute, where the timeline counts them as bad rows.
  const minute = `date_trunc('minute', ${s})`;
  const where = windowed ? [`${s} IS NOT NULL`, ...filters] : filters;
  const picked = [
    `${col('policy_verdict')} AS v`,
    `${strict ? `CASE WHEN ${saneCost(d, cost)} THEN ${minute} END` : minute} AS m`,
    `${s} AS s`,
    `${cost} AS cost`,
  ];
  const inner = [
    'COUNT(*) AS calls',
    `${d.costSum('cost')} AS cost`,
    'MIN(s) AS first',
    'MAX(s) AS last',
    'MIN(cost) AS min_cost',
    'MAX(cost) AS max_cost',
    'COUNT(*) - COUNT(cost) AS no_cost',
  ];
  const dated = '(WHERE m IS NOT NULL)';
  const outer = [
    // by verdict (set 1): only rows with a minute, as buildStatements' verdicts WHERE
    `SUM(calls) FILTER ${dated} AS v_calls`,
    `${d.costSum('cost')} FILTER ${dated} AS v_cost`,
    `MIN(first) FILTER ${dated} AS first`,
    `MAX(last) FILTER ${dated} AS last`,
    `MIN(min_cost) FILTER ${dated} AS min_cost`,
    `MAX(max_cost) FILTER ${dated} AS max_cost`,
    `SUM(no_cost) FILTER ${dated} AS v_no_cost`,
    // by minute (set 2): every call; cost and unknown cost of the allowed ones
    'SUM(calls) AS m_calls',
    `${d.costSum('cost')} FILTER (WHERE ${allowed}) AS m_cost`,
    `SUM(no_cost) FILTER (WHERE ${allowed}) AS m_no_cost`,
  ];
  if (q.revoked_at !== undefined) {
    picked.push(`${col('finished_at')} AS f`);
    const rev = bind(timeParam(q.revoked_at, TIMESTAMP));
    inner.push(
      `COUNT(*) FILTER (WHERE s >= ${rev}) AS later`,
      `COUNT(*) FILTER (WHERE s < ${rev} AND f > ${rev}) AS in_flight`,
    );
    outer.push(
      `SUM(later) FILTER ${dated} AS later`,
      `SUM(later) FILTER (WHERE m IS NOT NULL AND ${allowed}) AS later_allowed`,
      `SUM(in_flight) FILTER ${dated} AS in_flight`,
    );
  }
  if (hasOutcome) {
    picked.push(`${col('outcome')} AS o`, `${col('amount_usd_estimated')} AS est`);
    const unrecorded = `(WHERE o IN (${bind('pending')}, ${bind('unknown')}))`;
    inner.push(`COUNT(*) FILTER ${unrecorded} AS o_calls`, `${d.costSum('est')} FILTER ${unrecorded} AS o_est`);
    outer.push(`SUM(o_calls) FILTER ${dated} AS o_calls`, `${d.costSum('o_est')} FILTER ${dated} AS o_est`);
  }
  // OFFSET 0 keeps the subquery whole, so the planner guesses the (verdict, minute) groups from scratch
  // (a few hundred) instead of taking started_at's distinct count (one per row) and sorting every row.
  const rows = `SELECT ${picked.join(', ')} FROM ${quoteIdent(table)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} OFFSET 0`;
  const grouped = `SELECT v, m, ${inner.join(', ')} FROM (${rows}) r GROUP BY v, m`;
  const sql = `SELECT GROUPING(v, m) AS set, v, m, ${outer.join(', ')} FROM (${grouped}) g GROUP BY GROUPING SETS ((v), (m), ())`;
  return {
    name: 'timeline',
    sql,
    params,
    split(rows, into) {
      const verdicts: Row[] = [];
      const minutes: Row[] = [];
      for (const r of rows) {
        const set = Number(r.set);
        if (set === 1 && Number(r.v_calls ?? 0) > 0)
          verdicts.push({
            k0: r.v,
            calls: r.v_calls,
            cost: r.v_cost,
            first: r.first,
            last: r.last,
            min_cost: r.min_cost,
            max_cost: r.max_cost,
            no_cost: r.v_no_cost,
          });
        else if (set === 2) minutes.push({ k0: r.m, calls: r.m_calls, cost: r.m_cost, no_cost: r.m_no_cost });
        else if (set === 3) {
          if (q.revoked_at !== undefined)
            into.set('revoke', [{ later: r.later, later_allowed: r.later_allowed, in_flight: r.in_flight }]);
          if (hasOutcome) into.set('outcome', [{ calls: r.o_calls, est: r.o_est }]);
        }
      }
      into.set('verdicts', verdicts);
      into.set('minutes', minutes);
    },
  };
}

/** GROUPING(customer, method, path, run, key): the bits of the columns a set leaves out. */
const SETS = [
  ['customers', 0b01111],
  ['endpoints', 0b10011],
  ['runs', 0b11101],
  ['keys', 0b11110],
] as const;

function breakdowns(d: Dialect, table: string, c: ColumnMap, q: DamageQuery, strict: boolean): PostgresPass {
  const col = (name: keyof ColumnMap) => quoteIdent(c[name]);
  const { filters, params } = scope(d, c, TIMESTAMP, q);
  const bind = binder(d, params);
  const cost = col('cost_usd_parsed');
  const where = [
    `${col('started_at')} IS NOT NULL`,
    ...(strict ? [saneCost(d, cost)] : []),
    ...filters,
    `${col('policy_verdict')} IN (${[...ALLOWED_VERDICTS].map(bind).join(', ')})`,
  ];
  const picked = [
    `${col('customer_scope_id')} AS cu`,
    `${col('method')} AS me`,
    `${col('path')} AS pa`,
    `${col('agent_run_id')} AS ru`,
    `${col('vault_key_id')} AS ke`,
    `${cost} AS cost`,
  ];
  // The subquery (kept whole by OFFSET 0) names each breakdown's column apart, so a column map that
  // reads two fields from one column still gives each its own grouping set.
  const rows = `SELECT ${picked.join(', ')} FROM ${quoteIdent(table)} WHERE ${where.join(' AND ')} OFFSET 0`;
  const sql =
    `SELECT GROUPING(cu, me, pa, ru, ke) AS set, cu, me, pa, ru, ke, COUNT(*) AS calls, ${d.costSum('cost')} AS cost ` +
    `FROM (${rows}) r GROUP BY GROUPING SETS ((cu), (me, pa), (ru), (ke))`;
  return {
    name: 'breakdowns',
    sql,
    params,
    split(rows, into) {
      const by = new Map<number, Row[]>(SETS.map(([, bits]) => [bits, []]));
      for (const r of rows) {
        const { set, cu: customer, me: method, pa: path, ru: run, ke: key, ...counted } = r;
        const k =
          Number(set) === 0b10011
            ? { k0: method, k1: path }
            : { k0: Number(set) === 0b01111 ? customer : Number(set) === 0b11101 ? run : key };
        by.get(Number(set))?.push({ ...k, ...counted });
      }
      for (const [name, bits] of SETS) into.set(name, by.get(bits)!);
    },
  };
}
