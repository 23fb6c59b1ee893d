import type { JournalEntry } from './journal.js';
import type { DamageSummary } from './damage/types.js';
import { ANOMALY_FACTOR } from './damage/anomaly.js';
import { usd } from './money.js';
import { jsonText } from './json.js';

export interface Recommendation {
  /** Which rule produced it, for tests and for the reader who wants to know why this one. */
  rule: string;
  text: string;
  /** The facts it rests on. */
  because: string;
}

const money = usd;
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

const peakOf = (d: DamageSummary) => d.per_minute.reduce((m, x) => Math.max(m, x.calls), 0);

const namedRuns = (d: DamageSummary) => d.agent_runs.filter((r) => r.agent_run_id !== null);

function usedRotate(entries: readonly JournalEntry[]): boolean {
  return entries.some((e) =>
    /rotat/i.test(`${jsonText(e.action ?? '')} ${jsonText(e.kind ?? '')} ${jsonText(e.command ?? '')}`),
  );
}

function hadExpiry(entries: readonly JournalEntry[]): boolean | null {
  const facts = entries.find((e) => e.type === 'started')?.facts as Record<string, unknown> | undefined;
  if (!facts || !('expires_at' in facts)) return null;
  return facts.expires_at !== null && facts.expires_at !== undefined;
}

/** One change that prevents this failure, read off the facts; most specific rule first. */
export function preventRecommendation(entries: readonly JournalEntry[], d: DamageSummary | null): Recommendation {
  if (d && namedRuns(d).length > 1 && d.filter.vault_key_id !== undefined)
    return {
      rule: 'shared-key',
      text: `Give every agent run its own vault key (\`tourniquet issue\` per run): ${d.filter.vault_key_id} was shared by ${namedRuns(d).length} runs, so stopping one stopped all of them.`,
      because: `allowed calls came from runs ${namedRuns(d)
        .map((r) => r.agent_run_id)
        .join(', ')}`,
    };
  if (d && d.anomaly_start !== null && d.baseline_per_minute !== null) {
    const cap = Math.max(1, Math.round(Math.max(d.baseline_per_minute, 1) * 3));
    return {
      rule: 'cap-too-high',
      text: `Lower the vault key's calls_per_minute to about ${cap} (3x its normal rate) and set a daily_usd_cap: the policy let it run at ${peakOf(d)}/min and spend ${money(d.cost_usd)}.`,
      because: `baseline ${d.baseline_per_minute}/min before ${d.anomaly_start}, peak ${peakOf(d)}/min`,
    };
  }
  if (hadExpiry(entries) === false)
    return {
      rule: 'no-expiry',
      text: 'Give vault keys an expiry (a run-length TTL): this one had none, so it could keep spending long after its job.',
      because: 'the key had no expires_at',
    };
  return {
    rule: 'caps',
    text: 'Put a rate cap, an amount cap and an expiry on every vault key an agent holds, so a loop hits a wall before anyone is paged.',
    because: d
      ? `${d.calls_allowed} calls were allowed in the window`
      : 'no audit rows were available to be more specific',
  };
}

/** One change that makes the next incident shorter. */
export function fasterRecommendation(
  entries: readonly JournalEntry[],
  d: DamageSummary | null,
  revokedAt: string | null,
): Recommendation {
  if (usedRotate(entries))
    return {
      rule: 'revoke-not-rotate',
      text: "Put a proxy with per-agent vault keys in front of this vendor and revoke there: a rotation waits out the vendor's cache (minutes) and breaks every other consumer of the key.",
      because: 'this incident rotated the production key',
    };
  if (d && d.anomaly_start !== null && revokedAt !== null) {
    const lag = Date.parse(revokedAt) - Date.parse(d.anomaly_start);
    if (lag > 5 * 60_000)
      return {
        rule: 'rate-monitor',
        text: `Alert on calls per minute per vault key at ${ANOMALY_FACTOR}x baseline (\`tourniquet watch\`): the anomaly started ${minutes(lag)} before the revoke.`,
        because: `anomaly from ${d.anomaly_start}, revoked ${revokedAt}`,
      };
  }
  if (
    (d && d.customers.some((c) => c.customer_scope_id === null)) ||
    (d && d.agent_runs.some((r) => r.agent_run_id === null) && d.calls_allowed > 0)
  )
    return {
      rule: 'forensic-columns',
      text: 'Record the four forensic columns on every call (policy_verdict, cost_usd_parsed, customer_scope_id, agent_run_id): some allowed calls have no customer or run, so refunds for them are reconciled by hand.',
      because: 'allowed calls with an empty customer_scope_id or agent_run_id',
    };
  if (d && d.filter.vault_key_id !== undefined && namedRuns(d).length <= 1)
    return {
      rule: 'key-per-run',
      text: 'Issue a vault key per agent run, not per agent: the revoke then stops exactly the run that misbehaves and nothing else.',
      because: `vault key ${d.filter.vault_key_id}`,
    };
  return {
    rule: 'drill',
    text: 'Rehearse this on a quiet afternoon (`tourniquet drill`): a measured game day turns the 2am steps into muscle memory.',
    because: 'no slower step stood out in the journal',
  };
}

export function recommend(entries: readonly JournalEntry[], d: DamageSummary | null, revokedAt: string | null) {
  return { prevent: preventRecommendation(entries, d), faster: fasterRecommendation(entries, d, revokedAt) };
}
