// The hand-written queries the SQL baselines run: what an on-call engineer would type into the
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
