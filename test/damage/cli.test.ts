import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { REVOKED_AT, storyRows, storyRowsUnmetered } from '../fixtures/damage/story.js';
import { toCsv, toJsonl } from '../fixtures/damage/write.js';
import { paint, stripAnsi } from '../../src/render/color.js';
import { renderDamageText } from '../../src/render/damage.js';
import { renderDamageMarkdown } from '../../src/render/damage-md.js';
import type { DamageSummary, MinuteCount } from '../../src/core/damage/types.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-damage-cli-'));
const rows = storyRows();
const jsonl = join(dir, 'audit.jsonl');
writeFileSync(jsonl, toJsonl(rows));

const run = (args: string[], extra: { env?: Record<string, string>; stdin?: string } = {}) =>
  runInProcess(['damage', ...args], { env: isolatedEnv({ TZ: 'UTC', ...extra.env }), stdin: extra.stdin });

describe('malformed rows are counted, reported by line, never fatal', () => {
  it('JSONL: bad JSON, no start time, a cost that is not a number, an array', async () => {
    const lines = toJsonl(rows.slice(0, 20)).trimEnd().split('\n');
    lines.splice(2, 0, '{"started_at": "2026-11-21T01:50:00Z", "policy_verdict": "allowed", "cost_usd_parsed": 1'); // line 3: truncated
    lines.splice(5, 0, '{"policy_verdict": "allowed"}'); // line 6: no started_at
    lines.splice(8, 0, '{"started_at": "2026-11-21T01:50:00Z", "cost_usd_parsed": "lots"}'); // line 9
    lines.splice(10, 0, '', '[1,2]'); // line 11 blank (skipped), line 12 an array
    const r = await run(['--source', '-', '--json'], { stdin: lines.join('\n') + '\n' });
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.bad_rows).toEqual({ count: 4, first_lines: [3, 6, 9, 12] });
    expect(s.calls_total).toBe(20);
    expect(r.stderr).toMatch(/4 unreadable rows skipped \(first at 3, 6, 9, 12\)/);
  });

  it('CSV: a quote inside an unquoted field is text, and the records after it are read', async () => {
    const lines = toCsv(rows.slice(0, 10)).trimEnd().split('\n');
    lines[2] = lines[2]!.replace('/v1/', '/v1/"');
    lines[4] = lines[4]!.replace('/v1/', '/v1/a"b"');
    const r = await run(['--source', '-', '--input-format', 'csv', '--json'], { stdin: lines.join('\n') + '\n' });
    const s = JSON.parse(r.stdout);
    expect(s.calls_total).toBe(10);
    expect(s.bad_rows).toEqual({ count: 0, first_lines: [] });
    expect(s.endpoints.map((e: { path: string }) => e.path)).toContain('/v1/"customers');
  });

  it('CSV: a short row, a bad time, an unclosed quote; a quoted newline is fine', async () => {
    const lines = toCsv(rows.slice(0, 10)).trimEnd().split('\n');
    lines.push('1,2,3');
    lines.push(lines[1]!.replace(/2026-[^,]+Z/, 'not-a-time'));
    lines.push(lines[1]!.replace('/v1/refunds', '"/v1/re\nfunds"'));
    lines.push(lines[1]!.replace('/v1/refunds', '"/v1/never closed'));
    const r = await run(['--source', '-', '--input-format', 'csv', '--json'], { stdin: lines.join('\n') + '\n' });
    const s = JSON.parse(r.stdout);
    expect(s.calls_total).toBe(11);
    expect(s.bad_rows).toEqual({ count: 3, first_lines: [12, 13, 16] });
  });

  it('SQLite: rows with no start time are counted with their ids, in a window too (they may belong to it)', async () => {
    const { toSqlite } = await import('../fixtures/damage/write.js');
    const { default: Database } = await import('better-sqlite3');
    const db = join(dir, 'nulls.db');
    toSqlite(db, rows.slice(0, 30));
    const h = new Database(db);
    h.exec('UPDATE agent_call_audit SET started_at = NULL WHERE id IN (4, 9, 17)');
    h.close();
    const all = JSON.parse((await run(['--source', db, '--json'])).stdout);
    expect(all.bad_rows).toEqual({ count: 3, first_lines: [4, 9, 17] });
    expect(all.calls_total).toBe(27);
    const windowed = JSON.parse(
      (await run(['--source', db, '--json', '--since', '1d', '--to', '2026-11-21T03:00:00Z'])).stdout,
    );
    expect(windowed.bad_rows).toEqual({ count: 3, first_lines: [4, 9, 17] });
    expect(windowed.calls_total).toBe(27);
  });

  it('SQLite: start times with a UTC offset are refused (exit 2), never summed as a window of nothing', async () => {
    const { toSqlite } = await import('../fixtures/damage/write.js');
    // Given one row in the middle of the table written with +02:00 (the first and the least are UTC)
    const db = join(dir, 'offsets.db');
    toSqlite(
      db,
      rows.slice(0, 30).map((r) => (r.id === 15 ? { ...r, started_at: '2026-11-21T23:59:59.000+02:00' } : r)),
    );
    for (const window of [[], ['--from', '2026-11-21T00:00:00Z']]) {
      const r = await run(['--source', db, ...window]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/started_at holds times with a UTC offset \(2026-11-21T23:59:59\.000\+02:00\)/);
    }
  });

  it('text output says how many were skipped', async () => {
    const r = await run(['--source', '-'], { stdin: toJsonl(rows.slice(0, 5)) + 'garbage\n' });
    expect(r.stdout).toMatch(/Bad rows\s+1 unreadable, skipped \(first at 6\)/);
  });
});

describe('windows, zones and formats', () => {
  it('the calls line counts every allowed verdict (allowed, allow, ok, pass) once, as allowed', async () => {
    const verdicts = ['ok', 'pass', 'allow', 'allowed', 'denied'];
    const some = rows.slice(0, 10).map((r, i) => ({ ...r, policy_verdict: verdicts[i % verdicts.length]! }));
    for (const format of ['text', 'md']) {
      const r = await run(['--source', '-', '--format', format], { stdin: toJsonl(some) });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, format).toMatch(/\b10 total, 8 allowed, 2 denied$/m);
    }
  });

  it('an empty window says so plainly, in every format', async () => {
    const q = ['--source', jsonl, '--from', '2027-01-01T00:00:00Z', '--to', '2027-01-01T01:00:00Z'];
    const text = await run(q);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^No calls in this window \(all calls, 2027-01-01 00:00 UTC to 2027-01-01 01:00 UTC\)/);
    expect((await run([...q, '--format', 'md'])).stdout).toMatch(/No calls in this window/);
    const s = JSON.parse((await run([...q, '--json'])).stdout);
    expect(s).toMatchObject({
      empty: true,
      calls_total: 0,
      cost_usd: 0,
      customers: [],
      anomaly_start: null,
      after_revoke: null,
      per_minute: [],
    });
  });

  it('times are shown in TZ and stored in UTC', async () => {
    const args = ['--source', jsonl, '--revoked-at', '2026-11-21T03:20:05+01:00'];
    const berlin = await run(args, { env: { TZ: 'Europe/Berlin' } });
    expect(berlin.stdout).toMatch(/First call\s+2026-11-21 02:44:07 GMT\+1/);
    expect(berlin.stdout).toMatch(/Anomaly\s+from 2026-11-21 03:14 GMT\+1/);
    const tokyo = await run([...args, '--json'], { env: { TZ: 'Asia/Tokyo' } });
    const s = JSON.parse(tokyo.stdout);
    expect(s.anomaly_start).toBe('2026-11-21T02:14:00.000Z');
    expect(s.after_revoke.revoked_at).toBe(REVOKED_AT);
    expect(s.first_call).toBe('2026-11-21T01:44:07.000Z');
  });

  it('a zone-less --from is UTC, whatever TZ says', async () => {
    const a = JSON.parse(
      (await run(['--source', jsonl, '--from', '2026-11-21T02:14:00', '--json'], { env: { TZ: 'Pacific/Auckland' } }))
        .stdout,
    );
    expect(a.window.from).toBe('2026-11-21T02:14:00.000Z');
  });

  it('the text table fits 80 columns and has no colour off a terminal', async () => {
    const r = await run(['--source', jsonl, '--revoked-at', REVOKED_AT]);
    for (const line of r.stdout.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
    // eslint-disable-next-line no-control-regex -- ESC is what must be absent off a terminal
    expect(r.stdout).not.toMatch(/\u001b\[/);
    expect(r.stdout).toMatch(/After revoke\s+at 2026-11-21 02:20:05 UTC: 1 in flight, 62 later, none allowed/);
    expect(r.stdout).toMatch(/02:14 UTC {2}<- anomaly start\s+151/);
  });

  it('on a terminal the timeline is a sparkline', async () => {
    let out = '';
    const { main } = await import('../../src/main.js');
    const { Readable } = await import('node:stream');
    await main(['damage', '--source', jsonl], {
      stdout: { write: (s: string) => ((out += s), true), isTTY: true, columns: 80 },
      stderr: { write: () => true, isTTY: true },
      stdin: Readable.from([]) as never,
      env: isolatedEnv({ TZ: 'UTC', FORCE_COLOR: '1' }),
      cwd: dir,
    });
    const plain = stripAnsi(out);
    expect(plain).toMatch(/Per minute\s+[▁▂▃▄▅▆▇█]{20,} max 151/);
    const lines = plain.split('\n');
    const spark = lines.findIndex((l) => l.startsWith('Per minute'));
    const caret = lines[spark + 1]!;
    expect(caret).toMatch(/\^ anomaly 02:14 UTC$|anomaly 02:14 UTC \^$/);
    // The caret sits under the first bar that jumps (one character per minute here: 37 minutes).
    expect(lines[spark]![caret.indexOf('^')]).toBe('█');
    for (const line of plain.split('\n')) expect([...line].length).toBeLessThanOrEqual(80);
  });

  it('--format md and --refunds', async () => {
    const refunds = join(dir, 'refunds.csv');
    const r = await run(['--source', jsonl, '--format', 'md', '--vault-key', 'vk_refund_agent', '--refunds', refunds]);
    expect(r.stdout).toMatch(/^## Damage: vault key vk_refund_agent/);
    expect(r.stdout).toMatch(/\| cus_C3 \| 154 \| \$6,399.43 \|/);
    const csv = readFileSync(refunds, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('customer_scope_id,calls,cost_usd');
    expect(csv[1]).toBe('cus_C3,154,6399.43');
    expect(csv).toHaveLength(8);
    expect(statSync(refunds).mode & 0o077).toBe(0);
  });
});

describe('calls and spend per minute, in the terminal view and in Markdown', () => {
  // The unmetered story: every 60th allowed refund of the loop has no cost, so the loop's minutes are lower bounds.
  const unmetered = join(dir, 'unmetered.jsonl');
  writeFileSync(unmetered, toJsonl(storyRowsUnmetered()));
  const args = ['--source', unmetered, '--revoked-at', REVOKED_AT];
  const hhmm = (m: MinuteCount) => m.minute.slice(11, 16);
  /** The table's rows as [minute, calls, spend], by the minute's hh:mm (TZ=UTC). */
  const mdRows = (md: string) =>
    new Map(
      [...md.matchAll(/^\| 2026-11-21 (\d\d:\d\d) UTC[^|]*\| ([\d,]+) \| ([^|]+) \|$/gm)].map((m) => [
        m[1]!,
        { calls: m[2]!, spend: m[3]! },
      ]),
    );

  it('every minute shown has its calls and spend; a minute with calls of unknown cost says "at least"', async () => {
    const json = JSON.parse((await run([...args, '--json'])).stdout) as DamageSummary;
    const md = (await run([...args, '--format', 'md'])).stdout;
    const text = (await run(args)).stdout;
    expect(md).toMatch(/^\*\*Calls and spend per minute\*\* \(the 30 costliest of 37 minutes with calls\)$/m);
    expect(text).toMatch(/^Calls and spend per minute \(the 30 costliest of 37 minutes with calls\)$/m);
    const shown = mdRows(md);
    expect(shown.size).toBe(30);
    let lowerBounds = 0;
    for (const m of json.per_minute.filter((x) => shown.has(hhmm(x)))) {
      const row = shown.get(hhmm(m))!;
      const cost = `$${m.cost_usd!.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
      const spend = m.calls_cost_unknown! > 0 ? `at least ${cost}` : cost;
      if (m.calls_cost_unknown! > 0) lowerBounds++;
      expect(row, hhmm(m)).toEqual({ calls: m.calls.toLocaleString('en-US'), spend });
      const textRow = text.split('\n').find((l) => l.startsWith(`2026-11-21 ${hhmm(m)} UTC`))!;
      expect(textRow.replace(/ {2,}/g, '|').split('|').slice(-2), hhmm(m)).toEqual([row.calls, row.spend]);
    }
    expect(lowerBounds).toBeGreaterThan(0);
    // The loop's first minute has unknown-cost calls; the mark explains itself in both views.
    expect(md).toMatch(/^\| 2026-11-21 02:14 UTC \(anomaly start\) \| 151 \| at least \$[\d,.]+ \|$/m);
    expect(text).toMatch(/^2026-11-21 02:14 UTC {2}<- anomaly start +151 +at least \$[\d,.]+$/m);
    expect(md).toMatch(/^"at least": that minute has calls of unknown cost \(not \$0\)$/m);
    expect(text).toMatch(/^"at least": that minute has calls of unknown cost \(not \$0\)$/m);
    // The whole view fits 80 columns, the long Cost line too (broken between words, under itself).
    for (const line of text.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
    // A long scope (a demo vault key id, a run, a window) breaks the title under itself too, never inside a time.
    const scoped = renderDamageText(
      {
        ...json,
        filter: { vault_key_id: 'vk_id_GS6HDT03KTOAtXgH', agent_run_id: 'run_refunds_0214' },
        window: { from: '2026-11-21T01:44:00.000Z', to: '2026-11-21T02:21:00.000Z' },
      },
      { tz: 'UTC', paint: paint(false), tty: false },
    );
    for (const line of scoped.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80);
    expect(scoped).toMatch(
      /^Damage: vault key vk_id_GS6HDT03KTOAtXgH, run run_refunds_0214,\n {8}2026-11-21 01:44 UTC to 2026-11-21 02:21 UTC\n/,
    );
    const cost = text.slice(text.indexOf('\nCost '), text.indexOf('\nFirst call'));
    expect(cost.split('\n').length, cost).toBeGreaterThan(2);
    expect(cost.replace(/\n {13}(?=\S)/g, ' ')).toMatch(
      /^\nCost {9}at least \$[\d,.]+: [\d,]+ allowed calls \([\d.]+%\) have no cost recorded \(unknown, not \$0\)$/,
    );
  });

  it('past 30 minutes it shows the costliest, keeps the anomaly and revoke minutes, and sums what it left out', async () => {
    const json = JSON.parse((await run([...args, '--json'])).stdout) as DamageSummary;
    const md = (await run([...args, '--format', 'md'])).stdout;
    const shown = mdRows(md);
    const busy = json.per_minute.filter((m) => m.calls > 0);
    const left = busy.filter((m) => !shown.has(hhmm(m)));
    expect(left).toHaveLength(7);
    // Nothing left out costs more than anything shown, the two marked minutes aside.
    const cheapestShown = Math.min(
      ...busy.filter((m) => shown.has(hhmm(m)) && !['02:14', '02:20'].includes(hhmm(m))).map((m) => m.cost_usd!),
    );
    for (const m of left) expect(m.cost_usd!).toBeLessThanOrEqual(cheapestShown);
    expect(shown.has('02:14') && shown.has('02:20')).toBe(true);
    const calls = left.reduce((n, m) => n + m.calls, 0);
    const cost = left.reduce((n, m) => n + Math.round(m.cost_usd! * 1e6), 0) / 1e6;
    const note = `… 7 more minutes not shown: ${calls} calls, $${cost.toFixed(2)} (--json has all)`;
    expect(md).toContain(`\n${note}\n`);
    expect((await run(args)).stdout).toContain(`\n${note}\n`);
    // Shown and left out add up to every call.
    const shownCalls = [...shown.values()].reduce((n, r) => n + Number(r.calls.replace(/,/g, '')), 0);
    expect(shownCalls + calls).toBe(json.calls_total);
  });

  it('a short incident shows every minute with calls and no note', async () => {
    const short = [...args, '--from', '2026-11-21T02:00:00Z', '--to', '2026-11-21T02:21:00Z'];
    const json = JSON.parse((await run([...short, '--json'])).stdout) as DamageSummary;
    const md = (await run([...short, '--format', 'md'])).stdout;
    const text = (await run(short)).stdout;
    expect(md).toMatch(/^\*\*Calls and spend per minute\*\* \(minutes with calls\)$/m);
    expect(text).toMatch(/^Calls and spend per minute \(minutes with calls\)$/m);
    expect(mdRows(md).size).toBe(json.per_minute.filter((m) => m.calls > 0).length);
    expect(md + text).not.toMatch(/more minutes not shown/);
  });

  it('a lower bound hidden among the left-out minutes is still a lower bound; no spend per minute, no spend column', () => {
    const minute = (i: number, calls: number, cost: number | null, unknown: number | null) => ({
      minute: new Date(Date.UTC(2026, 10, 21, 2, i)).toISOString(),
      calls,
      cost_usd: cost,
      calls_cost_unknown: unknown,
    });
    const base = JSON.parse(
      JSON.stringify({
        source: 'test',
        filter: {},
        window: { from: null, to: null },
        empty: false,
        by_verdict: { allowed: 0 },
        customers: [],
        endpoints: [],
        baseline_per_minute: null,
        anomaly_start: null,
        agent_runs: [],
        vault_keys: [],
        after_revoke: null,
        bad_rows: { count: 0, first_lines: [] },
        cost_unknown: { calls: 1, share: 0.01 },
        outcome_unknown: { calls: 0, amount_usd_estimated: 0 },
      }),
    ) as Omit<DamageSummary, 'per_minute' | 'calls_total' | 'calls_allowed' | 'cost_usd' | 'first_call' | 'last_call'>;
    // 40 minutes; the cheapest (left out) has a call of unknown cost.
    const per_minute = Array.from({ length: 40 }, (_, i) => minute(i, 2, i === 0 ? 0.5 : 10 + i, i === 0 ? 1 : 0));
    const s: DamageSummary = {
      ...base,
      per_minute,
      calls_total: 80,
      calls_allowed: 80,
      cost_usd: 0,
      first_call: per_minute[0]!.minute,
      last_call: per_minute[39]!.minute,
    };
    const view = { tz: 'UTC', paint: paint(false), tty: false };
    const note = /^… 10 more minutes not shown: 20 calls, at least \$135\.50 \(--json has all\)$/m;
    expect(renderDamageText(s, view)).toMatch(note);
    expect(renderDamageMarkdown(s, { tz: 'UTC' })).toMatch(note);
    expect(renderDamageText(s, view)).toMatch(/^"at least": that minute/m);
    // A cheap minute that starts the anomaly is kept all the same (it is the one the caret points at).
    const marked = renderDamageText({ ...s, anomaly_start: per_minute[1]!.minute }, view);
    expect(marked).toMatch(/^2026-11-21 02:01 UTC {2}<- anomaly start +2 +\$11\.00$/m);
    expect(marked).toMatch(/^… 10 more minutes not shown: 20 calls, at least \$144\.50 /m);
    // A source with no spend per minute (an older proxy): calls only, the busiest minutes, no "$".
    const noSpend = {
      ...s,
      per_minute: per_minute.map((m, i) => ({ ...m, calls: i, cost_usd: null, calls_cost_unknown: null })),
    };
    const text = renderDamageText(noSpend, view);
    expect(text).toMatch(/^Calls per minute \(the 30 busiest of 39 minutes with calls\)$/m);
    expect(text).toMatch(/^… 9 more minutes not shown: 45 calls \(--json has all\)$/m);
    expect(text).not.toMatch(/^minute .*spend/m);
    expect(renderDamageMarkdown(noSpend, { tz: 'UTC' })).toMatch(/^\| minute \| calls \|$/m);
  });
});

describe('secrets in audit rows never reach the output', () => {
  it('an api_key or authorization column is never read, so no format can print it', async () => {
    const secret = 'sk_live_51NqSECRETSECRETSECRET0123456789';
    const leaky =
      rows
        .slice(0, 200)
        .map((r) => JSON.stringify({ ...r, api_key: secret, authorization: `Bearer ${secret}` }))
        .join('\n') + '\n';
    const refunds = join(dir, 'leak-refunds.csv');
    for (const format of ['text', 'md', 'json']) {
      const r = await run(['--source', '-', '--format', format, '--refunds', refunds], { stdin: leaky });
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr + readFileSync(refunds, 'utf8')).not.toContain('SECRETSECRET');
    }
  });
});

describe('usage errors are exit 2 and name the fix', () => {
  it.each([
    [['--source', '/nope/audit.jsonl'], /does not exist/],
    [['--source', 'jsonl:/nope/audit.jsonl'], /cannot read audit file/],
    [['--source', '-', '--since', 'a while'], /not a duration/],
    [['--source', '-', '--since', '5m', '--from', '2026-01-01T00:00:00Z'], /--since and --from/],
    [['--source', '-', '--format', 'xml'], /--format xml/],
    [['--source', '-', '--columns', 'when=ts'], /unknown audit field/],
    [[], /no audit source/],
  ])('%j', async (args, message) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a missing table or column in SQLite is a usage error with the mapping hint', async () => {
    const { toSqlite } = await import('../fixtures/damage/write.js');
    const db = join(dir, 'a.db');
    toSqlite(db, rows.slice(0, 3));
    const r = await run(['--source', db, '--table', 'audit_rows']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such table[\s\S]*--table and --columns/);
  });
});
