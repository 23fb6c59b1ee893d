// The hand-written baselines: the jq program, and the queries the SQL baselines run: what an on-call engineer would type into the
// sqlite3 shell or psql for the same summary (seed 002: sum cost, count allowed, group by customer).

export function sqliteQueries(rev) {
  const allowed = "FROM agent_call_audit WHERE policy_verdict = 'allowed'";
  return `.output /dev/null
SELECT policy_verdict, COUNT(*), SUM(cost_usd_parsed), MIN(started_at), MAX(started_at) FROM agent_call_audit GROUP BY policy_verdict;
SELECT customer_scope_id, COUNT(*), SUM(cost_usd_parsed) ${allowed} GROUP BY customer_scope_id;
SELECT method, path, COUNT(*), SUM(cost_usd_parsed) ${allowed} GROUP BY method, path;
SELECT substr(started_at, 1, 16), COUNT(*) FROM agent_call_audit GROUP BY 1;
SELECT agent_run_id, COUNT(*), SUM(cost_usd_parsed) ${allowed} GROUP BY agent_run_id;
SELECT vault_key_id, COUNT(*), SUM(cost_usd_parsed) ${allowed} GROUP BY vault_key_id;
SELECT SUM(started_at >= '${rev}'), SUM(started_at >= '${rev}' AND policy_verdict = 'allowed'), SUM(started_at < '${rev}' AND finished_at > '${rev}') FROM agent_call_audit;
`;
}

export function pgQueries(rev) {
  const allowed = "FROM agent_call_audit WHERE policy_verdict = 'allowed'";
  return `\\o /dev/null
SELECT policy_verdict, count(*), sum(cost_usd_parsed), min(started_at), max(started_at) FROM agent_call_audit GROUP BY policy_verdict;
SELECT customer_scope_id, count(*), sum(cost_usd_parsed) ${allowed} GROUP BY customer_scope_id;
SELECT method, path, count(*), sum(cost_usd_parsed) ${allowed} GROUP BY method, path;
SELECT date_trunc('minute', started_at), count(*) FROM agent_call_audit GROUP BY 1;
SELECT agent_run_id, count(*), sum(cost_usd_parsed) ${allowed} GROUP BY agent_run_id;
SELECT vault_key_id, count(*), sum(cost_usd_parsed) ${allowed} GROUP BY vault_key_id;
SELECT count(*) FILTER (WHERE started_at >= '${rev}'), count(*) FILTER (WHERE started_at >= '${rev}' AND policy_verdict = 'allowed'),
       count(*) FILTER (WHERE started_at < '${rev}' AND finished_at > '${rev}') FROM agent_call_audit;
`;
}

/** The jq program (run as `jq -s --arg rev … -f FILE`). */
export const JQ_PROGRAM = String.raw`# The damage aggregates in jq, as a person would write them by hand: slurp, then group_by.
# (A streaming "reduce inputs" version is quadratic in jq 1.6 once the customer map is large:
# 20k rows took 42 s, so it cannot run at a million.) Endpoints group on the raw path, which
# only spares jq work. Run: jq -s --arg rev 2026-11-20T06:00:00.000Z -f damage.jq audit.jsonl
def cost: map(.cost_usd_parsed // 0) | add;
def counted(key): group_by(key) | map({key: (.[0] | key), calls: length, cost: cost});
map(select(.policy_verdict == "allowed")) as $ok
| {
    calls_total: length,
    by_verdict: (group_by(.policy_verdict) | map({key: .[0].policy_verdict, value: length}) | from_entries),
    calls_allowed: ($ok | length),
    cost_usd: ($ok | cost),
    customers: ($ok | counted(.customer_scope_id) | sort_by(-.cost)),
    endpoints: ($ok | counted([.method, .path]) | sort_by(-.calls)),
    per_minute: (group_by(.started_at[0:16]) | map({minute: .[0].started_at[0:16], calls: length})),
    agent_runs: ($ok | counted(.agent_run_id)),
    vault_keys: ($ok | counted(.vault_key_id)),
    first_call: (map(.started_at) | min),
    last_call: (map(.started_at) | max),
    after_revoke: {
      in_flight: (map(select(.started_at < $rev and .finished_at > $rev)) | length),
      later: (map(select(.started_at >= $rev)) | length),
      later_allowed: ($ok | map(select(.started_at >= $rev)) | length)
    }
  }
`;
