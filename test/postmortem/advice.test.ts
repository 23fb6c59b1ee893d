import { describe, expect, it } from 'vitest';
import { fasterRecommendation, preventRecommendation } from '../../src/core/postmortem-advice.js';
import type { DamageSummary } from '../../src/core/damage/types.js';
import type { JournalEntry } from '../../src/core/journal.js';

const base: DamageSummary = {
  source: 'test',
  filter: { vault_key_id: 'vk_1' },
  window: { from: null, to: null },
  empty: false,
  calls_total: 10,
  by_verdict: { allowed: 10 },
  calls_allowed: 10,
  cost_usd: 12.5,
  customers: [{ customer_scope_id: 'cus_1', calls: 10, cost_usd: 12.5 }],
  endpoints: [],
  per_minute: [{ minute: '2026-11-21T02:14:00.000Z', calls: 10 }],
  baseline_per_minute: null,
  anomaly_start: null,
  first_call: null,
  last_call: null,
  agent_runs: [{ agent_run_id: 'run_1', calls: 10, cost_usd: 12.5 }],
  vault_keys: [{ vault_key_id: 'vk_1', calls: 10, cost_usd: 12.5 }],
  after_revoke: null,
  bad_rows: { count: 0, first_lines: [] },
  cost_unknown: { calls: 0, share: 0 },
  outcome_unknown: { calls: 0, amount_usd_estimated: 0 },
};
const entry = (type: string, fields: Record<string, unknown> = {}): JournalEntry => ({
  seq: 1,
  at: '2026-11-21T02:19:00.000Z',
  offset_ms: 0,
  type: type as never,
  ...fields,
});

describe('recommendations come from the facts', () => {
  it('a vault key shared by several runs', () => {
    const d = {
      ...base,
      agent_runs: [
        { agent_run_id: 'run_1', calls: 5, cost_usd: 1 },
        { agent_run_id: 'run_2', calls: 5, cost_usd: 1 },
      ],
    };
    expect(preventRecommendation([], d)).toMatchObject({
      rule: 'shared-key',
      text: expect.stringMatching(/vk_1 was shared by 2 runs/),
    });
  });
  it('no expiry, when the journal knows it and nothing more specific does', () => {
    expect(preventRecommendation([entry('started', { facts: { expires_at: null } })], base).rule).toBe('no-expiry');
    expect(
      preventRecommendation([entry('started', { facts: { expires_at: '2026-12-01T00:00:00Z' } })], base).rule,
    ).toBe('caps');
  });
  it('allowed calls without a customer ask for the forensic columns', () => {
    const d = { ...base, customers: [{ customer_scope_id: null, calls: 10, cost_usd: 12.5 }] };
    expect(fasterRecommendation([], d, null).rule).toBe('forensic-columns');
  });
  it('a per-agent key asks for a key per run; nothing to go on asks for a drill', () => {
    expect(fasterRecommendation([], base, null).rule).toBe('key-per-run');
    expect(fasterRecommendation([], null, null).rule).toBe('drill');
    expect(preventRecommendation([], null).rule).toBe('caps');
  });
  it('a quick revoke after the anomaly does not ask for a monitor', () => {
    const d = { ...base, anomaly_start: '2026-11-21T02:14:00.000Z', baseline_per_minute: 1 };
    expect(fasterRecommendation([], d, '2026-11-21T02:16:00.000Z').rule).toBe('key-per-run');
    expect(fasterRecommendation([], d, '2026-11-21T02:24:00.000Z').rule).toBe('rate-monitor');
  });
});
