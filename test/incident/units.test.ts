import { describe, expect, it } from 'vitest';
import { rankRates, toKeyRate } from '../../src/core/incident/rates.js';
import { nextMoves } from '../../src/core/incident/act.js';
import { leakedAfter, pathResult } from '../../src/core/demo/measure.js';
import { agentChoice, leakSentence, multipleText } from '../../src/render/incident.js';
import { paint } from '../../src/render/color.js';
import { alertText } from '../../src/core/watch.js';

const plain = paint(false);
const rate = (id: string, cpm: number, base: number, extra: Record<string, unknown> = {}) =>
  toKeyRate({ vault_key_id: id, vendor: 'stripe', calls_per_minute: cpm, baseline_per_minute: base, ...extra }, 5);

describe('which agent comes first', () => {
  it('anomalous first, then by multiple, then by rate', () => {
    const ranked = rankRates([
      rate('calm', 10, 5),
      rate('busy-new', 900, 0),
      rate('hot', 150, 1.5),
      rate('warm', 40, 2),
    ]);
    expect(ranked.map((r) => r.vault_key_id)).toEqual(['hot', 'warm', 'calm', 'busy-new']);
    expect(ranked[0]).toMatchObject({ anomalous: true, multiple: 100 });
  });

  it('a list line says rate, multiple of baseline and spend; anomalous lines are marked', () => {
    const line = agentChoice(rate('vk_id_1', 150, 1.5, { agent: 'refund-agent', spend_usd_10m: 1234.5 }), plain);
    expect(line).toMatch(/^! refund-agent\s+150\/min\s+100x baseline\s+\$1,234\.50 in 10m\s+vk_id_1$/);
    expect(multipleText(rate('x', 0, 2))).toBe('idle');
    expect(multipleText(rate('x', 30, 0))).toBe('no baseline');
    expect(multipleText(rate('x', 6, 2))).toBe('3x baseline');
  });
});

describe('the leak comparison and the next moves', () => {
  it('quotes the rotate tail against the one call in flight', () => {
    const s = leakSentence(
      {
        vendor: 'stripe',
        rate_per_s: 2.5,
        rotate: { median_s: 45, p95_s: 192, median_calls: 112, p95_calls: 480 },
        revoke: { max_calls: 1, hard_max_calls: 0 },
      },
      2.5,
    );
    expect(s).toBe(
      "At 150 calls/min, rotating the production key would let about 480 more calls through (the vendor's p95 propagation tail, 3m12s; 112 at the median); revoking lets through at most the one in flight.",
    );
  });

  it('the next moves: runner, process (with the refused count), production key, postmortem', () => {
    const m = nextMoves({
      incidentId: 'inc_1',
      vaultKeyId: 'vk_1',
      agentRunId: 'run_9',
      vendor: 'stripe',
      refusedSinceRevoke: 3,
    });
    expect(m[0]).toMatch(/run run_9 has a dead credential/);
    expect(m[1]).toBe('The agent is still retrying (3 refused calls since the revoke): kill its process.');
    expect(m[2]).toMatch(/rotate it later \(tourniquet rotate stripe\) only if the key itself left the building/);
    expect(m[3]).toBe('Write it up from the audit rows: tourniquet postmortem inc_1');
  });
});

describe('demo figures', () => {
  const calls = [
    { started: 0, ended: 10, ok: true, status: 200, code: null },
    { started: 20, ended: 110, ok: true, status: 200, code: null }, // in flight at 100
    { started: 120, ended: 125, ok: false, status: 401, code: 'vault_key_revoked' },
  ];
  it('leaked = money that moved after the stop began, the call in flight included', () => {
    expect(leakedAfter(calls, 100)).toBe(1);
    const r = pathResult({
      calls,
      since: 100,
      firstRefusal: calls[2],
      consumers: [
        { name: 'a', works: true, status: 200 },
        { name: 'b', works: false, status: 401 },
      ],
      scale: 0.05,
    });
    expect(r).toMatchObject({
      time_to_stop_ms: 25,
      time_to_stop_real_ms: 500,
      leaked_calls: 1,
      other_consumers_broken: 1,
      calls_before_stop: 1,
      stopped: true,
    });
  });

  it('an agent never refused is reported as not stopped, not as zero', () => {
    const r = pathResult({ calls, since: 100, firstRefusal: undefined, consumers: [], scale: 1 });
    expect(r).toMatchObject({ time_to_stop_ms: null, stopped: false });
  });
});

describe('the watch alert', () => {
  it('names the key, its multiple and the command that stops it', () => {
    const t = alertText([rate('vk_id_9', 150, 1.5, { agent: 'refund-agent', spend_usd_10m: 12 })], 5);
    expect(t).toMatch(/^tourniquet watch: 1 vault key above 5x baseline/);
    expect(t).toMatch(
      /refund-agent \(vk_id_9, stripe\): 150 calls\/min, 100x its baseline of 1.5\/min; \$12\.00 in 10 min/,
    );
    expect(t).toMatch(/Stop it: tourniquet incident --scenario runaway-loop --vault-key vk_id_9$/);
  });
});

describe('`tourniquet` with no arguments', () => {
  it('without a terminal prints help (exit 0) instead of starting the guided incident', async () => {
    const { runInProcess } = await import('../helpers/cli.js');
    const r = await runInProcess([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: tourniquet/);
    expect(r.stderr).toBe('');
  });
});
