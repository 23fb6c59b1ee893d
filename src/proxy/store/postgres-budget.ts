import type pg from 'pg';
import { CHARGED_USD_SQL } from './audit-shared.js';

/**
 * Fleet-wide limits in PostgreSQL: every instance takes slices (grants) of a key's daily budget
 * and of its calls per minute, and gives back what it did not use. Two server-side functions
 * decide a grant in one round trip, each under a row lock per key and kind, so concurrent
 * instances are served one after the other and never hand out more than the limit:
 *
 * - dollars: a key's grants for a UTC day (what was used, for those given back; what was granted,
 *   for the others, including those of an instance that died) never sum past its daily cap. The
 *   first grant of a day starts from what the audit already shows as spent that day (a call that
 *   could not be metered at its estimate, see limits/estimate.ts).
 * - calls: grants made in the last 60 + v seconds (v: how long an instance may use one) never
 *   sum past the per-minute limit. Any 60 s window of calls comes from grants made within
 *   60 + v seconds, and the last of them was checked against all of those, so no window exceeds it.
 */
export const BUDGET_MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 103,
    name: 'fleet-wide limits: grants of budget and calls',
    sql: `
CREATE TABLE IF NOT EXISTS budget_locks (vault_key_id text NOT NULL, kind text NOT NULL, PRIMARY KEY (vault_key_id, kind));
CREATE TABLE IF NOT EXISTS budget_grants (
  id bigserial PRIMARY KEY,
  vault_key_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('usd', 'calls')),
  instance_id text NOT NULL,
  day date,
  granted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  amount double precision NOT NULL,
  used double precision,
  returned_at timestamptz
);
CREATE INDEX IF NOT EXISTS budget_grants_key ON budget_grants (vault_key_id, kind, granted_at);
CREATE INDEX IF NOT EXISTS budget_grants_day ON budget_grants (vault_key_id, kind, day);

${usdGrantFunction('cost_usd_parsed')}
CREATE OR REPLACE FUNCTION tourniquet_grant_calls(p_key text, p_instance text, p_limit int, p_want int, p_window_s float8)
RETURNS TABLE (grant_id bigint, granted int, retry_after_s float8) LANGUAGE plpgsql AS $fn$
DECLARE u float8; g int; oldest timestamptz;
BEGIN
  INSERT INTO budget_locks VALUES (p_key, 'calls') ON CONFLICT DO NOTHING;
  PERFORM 1 FROM budget_locks WHERE vault_key_id = p_key AND kind = 'calls' FOR UPDATE;
  SELECT COALESCE(SUM(COALESCE(used, amount)), 0), min(granted_at) FILTER (WHERE COALESCE(used, amount) > 0) INTO u, oldest
    FROM budget_grants
   WHERE vault_key_id = p_key AND kind = 'calls' AND granted_at > clock_timestamp() - make_interval(secs => p_window_s);
  g := LEAST(p_want, p_limit - CEIL(u)::int);
  IF g <= 0 THEN
    RETURN QUERY SELECT NULL::bigint, 0, GREATEST(0.1, EXTRACT(EPOCH FROM (oldest + make_interval(secs => p_window_s) - clock_timestamp()))::float8);
    RETURN;
  END IF;
  DELETE FROM budget_grants WHERE vault_key_id = p_key AND kind = 'calls' AND granted_at < clock_timestamp() - interval '1 hour';
  RETURN QUERY INSERT INTO budget_grants (vault_key_id, kind, instance_id, amount) VALUES (p_key, 'calls', p_instance, g) RETURNING id, g, 0::float8;
END
$fn$;
`,
  },
  {
    version: 104,
    name: 'fleet-wide limits: the day starts from what the audit charged, unmetered calls at their estimate',
    sql: usdGrantFunction(CHARGED_USD_SQL),
  },
];

/**
 * The dollar grant (version 104): as 103, but the first grant of a day starts from what the
 * audit shows charged that day, where an allowed call that could not be metered (or whose
 * outcome is unknown) counts at the estimate on its row: never as free.
 */
function usdGrantFunction(charged: string): string {
  return `
CREATE OR REPLACE FUNCTION tourniquet_grant_usd(p_key text, p_instance text, p_day date, p_cap float8, p_want float8)
RETURNS TABLE (grant_id bigint, granted float8, committed float8) LANGUAGE plpgsql AS $fn$
DECLARE c float8; g float8;
BEGIN
  INSERT INTO budget_locks VALUES (p_key, 'usd') ON CONFLICT DO NOTHING;
  PERFORM 1 FROM budget_locks WHERE vault_key_id = p_key AND kind = 'usd' FOR UPDATE;
  IF NOT EXISTS (SELECT 1 FROM budget_grants WHERE vault_key_id = p_key AND kind = 'usd' AND day = p_day) THEN
    INSERT INTO budget_grants (vault_key_id, kind, instance_id, day, amount, used, returned_at)
    SELECT p_key, 'usd', 'audit', p_day, COALESCE(SUM(${charged}), 0), COALESCE(SUM(${charged}), 0), clock_timestamp()
      FROM agent_call_audit
     WHERE vault_key_id = p_key AND policy_verdict = 'allowed' AND started_at >= p_day::timestamptz AND started_at < (p_day + 1)::timestamptz;
  END IF;
  SELECT COALESCE(SUM(COALESCE(used, amount)), 0) INTO c FROM budget_grants WHERE vault_key_id = p_key AND kind = 'usd' AND day = p_day;
  g := LEAST(p_want, p_cap - c);
  IF g <= 0 THEN
    RETURN QUERY SELECT NULL::bigint, 0::float8, c;
    RETURN;
  END IF;
  DELETE FROM budget_grants WHERE vault_key_id = p_key AND kind = 'usd' AND day < p_day - 2;
  RETURN QUERY INSERT INTO budget_grants (vault_key_id, kind, instance_id, day, amount) VALUES (p_key, 'usd', p_instance, p_day, g) RETURNING id, g, c;
END
$fn$;
`;
}

export interface UsdGrant {
  id: number | null;
  granted: number;
  /** What the day had used or held in grants before this one. */
  committed: number;
}

export interface CallGrant {
  id: number | null;
  granted: number;
  /** When no calls were granted: seconds until the oldest grant in the window leaves it. */
  retryAfterS: number;
}

/** What a store offers fleet-wide limits (the PostgreSQL store does; SQLite keeps exact local limits). */
export interface BudgetStore {
  grantUsd(keyId: string, instanceId: string, day: string, cap: number, want: number): Promise<UsdGrant>;
  grantCalls(keyId: string, instanceId: string, limit: number, want: number, windowS: number): Promise<CallGrant>;
  /** Give grants back with what was used of each (never used again by the instance). */
  returnGrants(items: Array<{ id: number; used: number }>): Promise<void>;
}

export function isBudgetStore(s: object): s is BudgetStore {
  return typeof (s as Partial<BudgetStore>).grantUsd === 'function';
}

/** Rows as unknown fields, read one by one (the grant functions always answer one row). */
type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult<Record<string, unknown>>>;

export async function pgGrantUsd(
  q: Query,
  keyId: string,
  instanceId: string,
  day: string,
  cap: number,
  want: number,
): Promise<UsdGrant> {
  const r = (
    await q('SELECT * FROM tourniquet_grant_usd($1, $2, $3::date, $4, $5)', [keyId, instanceId, day, cap, want])
  ).rows[0]!;
  return {
    id: r.grant_id === null ? null : Number(r.grant_id),
    granted: Number(r.granted),
    committed: Number(r.committed),
  };
}

export async function pgGrantCalls(
  q: Query,
  keyId: string,
  instanceId: string,
  limit: number,
  want: number,
  windowS: number,
): Promise<CallGrant> {
  const r = (
    await q('SELECT * FROM tourniquet_grant_calls($1, $2, $3, $4, $5)', [keyId, instanceId, limit, want, windowS])
  ).rows[0]!;
  return {
    id: r.grant_id === null ? null : Number(r.grant_id),
    granted: Number(r.granted),
    retryAfterS: Number(r.retry_after_s),
  };
}

export async function pgReturnGrants(q: Query, items: Array<{ id: number; used: number }>): Promise<void> {
  if (!items.length) return;
  await q(
    `UPDATE budget_grants g SET used = v.used, returned_at = clock_timestamp()
       FROM unnest($1::bigint[], $2::float8[]) AS v(id, used) WHERE g.id = v.id AND g.returned_at IS NULL`,
    [items.map((i) => i.id), items.map((i) => i.used)],
  );
}
