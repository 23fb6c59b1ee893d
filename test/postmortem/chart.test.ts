import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { storyRows } from '../fixtures/damage/story.js';
import { toSqlite } from '../fixtures/damage/write.js';
import { INCIDENT_WITH_REVOKE, journalWithRevoke, writeJournal } from '../fixtures/damage/journal.js';
import { callsChartMermaid, MAX_BARS } from '../../src/render/chart-mermaid.js';
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

function summary(minutes: number[], anomalyIndex: number | null, revokeAtMs: number | null): DamageSummary {
  const t0 = Date.UTC(2026, 10, 21, 2, 0);
  const per_minute = minutes.map((calls, i) => ({ minute: new Date(t0 + i * 60_000).toISOString(), calls }));
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
    const text = block(r.stdout)!;
    expect(await parse(text)).toMatchObject({ diagramType: 'xychart' });
    expect(text).toMatch(/"02:14 anomaly"/);
    expect(text).toMatch(/"02:20 revoke"/);
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
