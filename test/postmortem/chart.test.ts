import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { storyRows } from '../fixtures/damage/story.js';
import { toSqlite } from '../fixtures/damage/write.js';
import { INCIDENT_WITH_REVOKE, journalWithRevoke, writeJournal } from '../fixtures/damage/journal.js';
import { callsChartMermaid, spendChartMermaid, MAX_BARS } from '../../src/render/chart-mermaid.js';
import { renderDamageText } from '../../src/render/damage.js';
import { paint } from '../../src/render/color.js';
import type { DamageSummary } from '../../src/core/damage/types.js';

/**
 * The postmortem's chart is checked by mermaid's own parser (mermaid 11, the last line that
 * runs on Node 20; its xychart grammar lives in mermaid itself, not in @mermaid-js/parser), the
 * code GitHub runs to draw it. mermaid wants a DOM for its sanitiser: jsdom gives it one.
 */
let parse: (text: string) => Promise<{ diagramType: string }>;

beforeAll(async () => {
  const { JSDOM } = await import('jsdom');
  const dom = new JSDOM('<!doctype html><html><body></body></html>');
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const { default: mermaid } = await import('mermaid');
  parse = (text) => mermaid.parse(text);
}, 60_000);

const block = (md: string) => /```mermaid\n([\s\S]*?)\n```/.exec(md)?.[1];
const blocks = (md: string) => [...md.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);

function summary(
  minutes: number[],
  anomalyIndex: number | null,
  revokeAtMs: number | null,
  spend: { cost: number[]; unknown?: Array<number | null> } | null = null,
): DamageSummary {
  const t0 = Date.UTC(2026, 10, 21, 2, 0);
  const per_minute = minutes.map((calls, i) => ({
    minute: new Date(t0 + i * 60_000).toISOString(),
    calls,
    cost_usd: spend ? spend.cost[i]! : null,
    calls_cost_unknown: spend?.unknown ? spend.unknown[i]! : spend ? 0 : null,
  }));
  return {
    source: 'test',
    filter: {},
    window: { from: null, to: null },
    empty: false,
    calls_total: minutes.reduce((a, b) => a + b, 0),
    by_verdict: {},
    calls_allowed: 0,
    cost_usd: 0,
    customers: [],
    endpoints: [],
    per_minute,
    baseline_per_minute: 1,
    anomaly_start: anomalyIndex === null ? null : per_minute[anomalyIndex]!.minute,
    first_call: per_minute[0]!.minute,
    last_call: per_minute.at(-1)!.minute,
    agent_runs: [],
    vault_keys: [],
    after_revoke:
      revokeAtMs === null
        ? null
        : { revoked_at: new Date(revokeAtMs).toISOString(), in_flight: 1, later: 3, later_allowed: 0 },
    bad_rows: { count: 0, first_lines: [] },
    cost_unknown: { calls: 0, share: 0 },
    outcome_unknown: { calls: 0, amount_usd_estimated: 0 },
  };
}

describe('the postmortem chart (Mermaid xychart)', () => {
  it('parses, with a bar per minute and the anomaly and the revoke named on the axis', async () => {
    const s = summary([1, 1, 2, 1, 150, 160, 40, 2], 4, Date.UTC(2026, 10, 21, 2, 6, 5));
    const chart = callsChartMermaid(s, { tz: 'UTC' })!;
    const text = block(chart)!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    expect(text).toContain('bar [1, 1, 2, 1, 150, 160, 40, 2]');
    expect(text).toMatch(/"02:04 anomaly"/);
    expect(text).toMatch(/"02:06 revoke"/);
    expect(text).toMatch(/title "Calls per minute, anomaly from 02:04, revoked 02:06:05"/);
  });

  it('a long window is summed into at most 90 bars, still marked, still parsing', async () => {
    const minutes = Array.from({ length: 600 }, (_, i) => (i >= 400 && i < 420 ? 300 : 2));
    const text = block(
      callsChartMermaid(summary(minutes, 400, Date.UTC(2026, 10, 21, 2, 0) + 419 * 60_000), { tz: 'Europe/Paris' })!,
    )!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    const bars = /bar \[([^\]]*)\]/.exec(text)![1]!.split(', ').map(Number);
    expect(bars.length).toBeLessThanOrEqual(MAX_BARS);
    expect(bars.reduce((a, b) => a + b, 0)).toBe(minutes.reduce((a, b) => a + b, 0));
    expect(text).toMatch(/Calls per 7 minutes/);
    expect(text).toMatch(/ anomaly/);
    expect(text).toMatch(/ revoke/);
    expect(text).toMatch(/time \((CET|GMT\+1)\)/); // the operator's zone, as every other time in the write-up
  });

  it('spend per minute is a second chart on the same axis, a line, with the same two marks, and parses', async () => {
    const cost = [2.5, 1.25, 4, 2, 6022.13, 6500.5, 1600, 0];
    const s = summary([1, 1, 2, 1, 150, 160, 40, 2], 4, Date.UTC(2026, 10, 21, 2, 6, 5), { cost });
    const text = block(spendChartMermaid(s, { tz: 'UTC' })!)!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    expect(text).toContain('line [2.5, 1.25, 4, 2, 6022.13, 6500.5, 1600, 0]');
    expect(text).toMatch(/y-axis "USD" 0 --> 7200\n/);
    expect(text).toMatch(/"02:04 anomaly"/);
    expect(text).toMatch(/"02:06 revoke"/);
    expect(text).toMatch(/title "Spend \(USD\) per minute, anomaly from 02:04, revoked 02:06:05"/);
    // The calls chart is unchanged beside it.
    expect(block(callsChartMermaid(s, { tz: 'UTC' })!)).toContain('bar [1, 1, 2, 1, 150, 160, 40, 2]');
  });

  it('a minute with calls of unknown cost is marked `?` and the title says the figure is a lower bound', async () => {
    const s = summary([1, 1, 150, 160], 2, null, { cost: [1, 1, 500, 600], unknown: [0, 0, 3, 0] });
    const text = block(spendChartMermaid(s, { tz: 'UTC' })!)!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    expect(text).toMatch(/"02:02 anomaly \?"/);
    expect(text).toMatch(/"02:03"/);
    expect(text).toMatch(/title "[^"]*; \? marks calls of unknown cost: at least that much"/);
    // A source that cannot tell (files read an empty cost as $0) says so.
    const files = summary([1, 1, 150, 160], 2, null, { cost: [1, 1, 500, 600], unknown: [null, null, null, null] });
    const filesText = block(spendChartMermaid(files, { tz: 'UTC' })!)!;
    expect(await parse(filesText)).toMatchObject({ diagramType: 'xychart' });
    expect(filesText).toMatch(/title "[^"]*; calls with no cost written count as \$0"/);
    expect(filesText).not.toMatch(/ \?"/);
  });

  it('a long window sums spend over the same minutes as the calls, in exact cents; no per-minute cost, no spend chart', async () => {
    const minutes = Array.from({ length: 600 }, (_, i) => (i >= 400 && i < 420 ? 300 : 2));
    const cost = minutes.map((n) => (n > 2 ? n * 0.1 : 0.000123));
    const s = summary(minutes, 400, Date.UTC(2026, 10, 21, 2, 0) + 419 * 60_000, { cost });
    const text = block(spendChartMermaid(s, { tz: 'UTC' })!)!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    const line = /line \[([^\]]*)\]/.exec(text)![1]!.split(', ').map(Number);
    expect(line.length).toBe(
      /bar \[([^\]]*)\]/.exec(block(callsChartMermaid(s, { tz: 'UTC' })!)!)![1]!.split(', ').length,
    );
    expect(line[0]).toBe(0.000861); // 7 minutes at $0.000123, summed in micro-dollars: not 0.0008610000000000001
    expect(Math.round(line.reduce((a, b) => a + b, 0) * 100)).toBe(Math.round(cost.reduce((a, b) => a + b, 0) * 100));
    expect(text).toMatch(/Spend \(USD\) per 7 minutes/);
    expect(spendChartMermaid(summary(minutes, 400, null), { tz: 'UTC' })).toBeNull();
  });

  it('the parser is a real check: a chart with a broken axis is refused', async () => {
    await expect(parse('xychart-beta\n  x-axis ["02:00", "02:01"\n  bar [1, 2]')).rejects.toThrow(/Parse error/);
  });

  it('tourniquet postmortem puts the chart in its Markdown, and it parses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-chart-'));
    const db = join(dir, 'audit.db');
    toSqlite(db, storyRows());
    const env = isolatedEnv({ TZ: 'UTC' });
    writeJournal(env.TOURNIQUET_STATE_DIR!, INCIDENT_WITH_REVOKE, journalWithRevoke());
    const r = await runInProcess(['postmortem', INCIDENT_WITH_REVOKE, '--source', db], { env });
    expect(r.code, r.stderr).toBe(0);
    const [calls, spend] = blocks(r.stdout);
    for (const text of [calls!, spend!]) {
      expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
      expect(text).toMatch(/"02:14 anomaly"/);
      expect(text).toMatch(/"02:20 revoke"/);
    }
    expect(calls).toMatch(/bar \[/);
    expect(spend).toMatch(/title "Spend \(USD\) per minute/);
    // The loop's minutes cost thousands of dollars each, as the summary's per_minute says.
    const json = await runInProcess(['damage', '--json', '--source', db], { env });
    const perMinute = JSON.parse(json.stdout).per_minute as Array<{ cost_usd: number }>;
    expect(spend).toContain(`${perMinute.map((m) => m.cost_usd).join(', ')}`); // the postmortem's window is wider
  });

  it('the terminal damage view marks the same two minutes under its sparkline', () => {
    const s = summary([1, 1, 2, 1, 150, 160, 40, 2], 4, Date.UTC(2026, 10, 21, 2, 6, 5));
    const text = renderDamageText(s, { tz: 'UTC', paint: paint(false), tty: true });
    const lines = text.split('\n');
    const spark = lines.findIndex((l) => l.startsWith('Per minute'));
    expect(lines[spark + 1]).toBe(' '.repeat(13 + 4) + '^ anomaly 02:04 UTC');
    expect(lines[spark + 2]).toBe(' '.repeat(13 + 6) + '^ revoke 02:06 UTC');
    const piped = renderDamageText(s, { tz: 'UTC', paint: paint(false), tty: false });
    expect(piped).toMatch(/02:04 UTC {2}<- anomaly start/);
    expect(piped).toMatch(/02:06 UTC {2}<- revoke/);
  });
});
