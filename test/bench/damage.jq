# The damage aggregates in jq, as a person would write them by hand: slurp, then group_by.
# (A streaming `reduce inputs` version is quadratic in jq 1.6 once the customer map is large:
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
