import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runBuilt, runInProcess } from '../helpers/cli.js';
import { REVOKED_AT, storyRows } from '../fixtures/damage/story.js';
import { toCsv, toJsonl, toSqlite } from '../fixtures/damage/write.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-damage-inputs-'));
const rows = storyRows();
const file = (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const run = (args: string[], env: Record<string, string> = {}, stdin?: string) =>
  runInProcess(['damage', ...args], { env: isolatedEnv({ TZ: 'UTC', ...env }), stdin });
const json = async (args: string[]) => {
  const r = await run([...args, '--json']);
  expect(r.stderr).not.toMatch(/internal error/);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const whole = await json(['--source', file('whole.jsonl', toJsonl(rows))]);

describe('a byte-order mark is tolerated in every text source', () => {
  it('JSONL: the first row is kept', async () => {
    const s = await json(['--source', file('bom.jsonl', '\uFEFF' + toJsonl(rows))]);
    expect(s.bad_rows.count).toBe(0);
    expect(s.calls_total).toBe(whole.calls_total);
  });

  it('CSV: the header is read, its first column included', async () => {
    const s = await json(['--source', file('bom.csv', '\uFEFF' + toCsv(rows))]);
    expect(s.bad_rows.count).toBe(0);
    expect(s.calls_total).toBe(whole.calls_total);
  });

  it('on stdin too', async () => {
    const r = await run(['--source', '-', '--json'], {}, '\uFEFF' + toJsonl(rows));
    expect(JSON.parse(r.stdout).calls_total).toBe(whole.calls_total);
  });
});

describe('a file that is not an audit log is an error naming it, exit 2, never an empty summary', () => {
  it('bytes that are not UTF-8 (Latin-1): the file and the line are named', async () => {
    const latin1 = Buffer.concat([
      Buffer.from(toJsonl(rows.slice(0, 3))),
      Buffer.from('{"customer_scope_id":"caf\xe9"}\n', 'latin1'),
    ]);
    const r = await run(['--source', file('latin1.jsonl', latin1)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/latin1\.jsonl: line 4 is not UTF-8 text/);
    expect(r.stdout).toBe('');
  });

  it('a binary file', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    const r = await run(['--source', file('binary.jsonl', bytes)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/binary\.jsonl: line \d+ is not UTF-8 text/);
  });

  it('UTF-8 text of which no line is a row (JSONL and CSV)', async () => {
    const r = await run(['--source', file('prose.jsonl', 'dear on-call,\nthis is not json\n\n')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/prose\.jsonl: no line is a readable audit row \(2 unreadable, first at line 1, 2\)/);
    const c = await run(['--source', file('bad.csv', 'started_at,cost_usd_parsed\nnot-a-time,1\nalso-not,2\n')]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/bad\.csv: no line is a readable audit row \(2 unreadable, first at line 2, 3\)/);
  });

  it('an empty file is an empty window, not an error (nothing was recorded)', async () => {
    const s = await json(['--source', file('empty.jsonl', '')]);
    expect(s).toMatchObject({ empty: true, calls_total: 0 });
  });
});

describe('a cost that is not a sane amount is a bad row with its line, never added', () => {
  const insane = ['-1e308', '1e309', '-5', '2e9', '"NaN"', '"Infinity"', '"0x10"', 'true'];
  it.each(insane)('JSONL cost %s', async (cost) => {
    const lines = toJsonl(rows.slice(0, 10)).trimEnd().split('\n');
    lines.splice(
      4,
      0,
      JSON.stringify({ ...rows[0], policy_verdict: 'allowed' }).replace(
        /"cost_usd_parsed":[^,}]*/,
        `"cost_usd_parsed":${cost}`,
      ),
    );
    const s = await json(['--source', file(`cost${insane.indexOf(cost)}.jsonl`, lines.join('\n') + '\n')]);
    expect(s.bad_rows).toEqual({ count: 1, first_lines: [5] });
    expect(s.calls_total).toBe(10);
    expect(Number.isFinite(s.cost_usd) && s.cost_usd >= 0).toBe(true);
  });

  it('CSV costs too', async () => {
    const lines = toCsv(rows.slice(0, 10)).trimEnd().split('\n');
    const costAt = lines[0]!.split(',').indexOf('cost_usd_parsed');
    const withCost = (c: string) =>
      lines[1]!
        .split(',')
        .map((v, i) => (i === costAt ? c : v))
        .join(',');
    lines.push(withCost('-1e308'), withCost('Infinity'), withCost('-0.01'), withCost('12.5'));
    const s = await json(['--source', file('costs.csv', lines.join('\n') + '\n')]);
    expect(s.bad_rows).toEqual({ count: 3, first_lines: [12, 13, 14] });
    expect(s.calls_total).toBe(11);
  });
});

describe('paths that are not audit files get a clear error (exit 2), never an internal one', () => {
  it('a directory as the source', async () => {
    const d = join(dir, 'a-directory.jsonl');
    mkdirSync(d);
    for (const source of [dir, d]) {
      const r = await run(['--source', source]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is a directory/);
    }
  });

  it('a file that claims to be SQLite but is not', async () => {
    for (const [name, content] of [
      ['fake.db', 'just some text\n'],
      ['fake.sqlite', 'SQLite format 3\0' + 'x'.repeat(200)],
    ] as const) {
      const r = await run(['--source', file(name, content)]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${name} is not a readable SQLite database`));
    }
  });

  it('--refunds naming a directory or a missing one: exit 2 before the scan', async () => {
    const source = file('r.jsonl', toJsonl(rows));
    for (const target of [dir, join(dir, 'no-such-dir', 'refunds.csv')]) {
      const r = await run(['--source', source, '--refunds', target]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /cannot write the refund candidates to .*: (it is a directory|its directory does not exist)/,
      );
      expect(r.stdout).toBe('');
    }
    // Checked before the source is even opened: no scan is wasted on a summary that cannot be written.
    const first = await run(['--source', join(dir, 'missing.jsonl'), '--refunds', dir]);
    expect(first.stderr).toMatch(/cannot write the refund candidates/);
  });

  it('a bad TOURNIQUET_DAMAGE_THREADS', async () => {
    const r = await run(['--source', file('t.jsonl', toJsonl(rows))], { TOURNIQUET_DAMAGE_THREADS: 'lots' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TOURNIQUET_DAMAGE_THREADS=lots/);
  });
});

describe('the built CLI reads a big file on worker threads: the same summary as on one', () => {
  /** ~2 MB: several stretches; bad rows, CRLF, and multi-byte ids all through it. */
  function bigJsonl(): string {
    const out: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const r = rows[i % rows.length]!;
      const line = JSON.stringify({
        ...r,
        id: i,
        customer_scope_id: i % 5 === 0 ? `cüs_${i % 17}_😀` : r.customer_scope_id,
      });
      out.push(i % 97 === 0 ? line.slice(0, 60) : i % 13 === 0 ? line + '\r' : line);
    }
    return '\uFEFF' + out.join('\n');
  }

  it.each(['jsonl', 'csv'] as const)('%s', async (format) => {
    const text =
      format === 'jsonl'
        ? bigJsonl()
        : toCsv(Array.from({ length: 12 }, () => rows).flat()).replace(/\n(?=[^\n]*\n[^\n]*$)/, '\n1,2,3\n');
    const source = file(`big.${format}`, text);
    const args = ['damage', '--json', '--source', source, '--revoked-at', REVOKED_AT];
    const one = await runBuilt(args, {
      env: isolatedEnv({ TZ: 'UTC', TOURNIQUET_DAMAGE_THREADS: '1' }),
      timeoutMs: 60_000,
    });
    const two = await runBuilt([...args, '--debug'], {
      env: isolatedEnv({ TZ: 'UTC', TOURNIQUET_DAMAGE_THREADS: '2' }),
      timeoutMs: 60_000,
    });
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(two.stdout).toBe(one.stdout);
    expect(JSON.parse(one.stdout).bad_rows.count).toBeGreaterThan(0);
    // Both threads took stretches: the worker thread really ran.
    const taken = /stretches, taken per thread: (\d+), (\d+)/.exec(two.stderr);
    expect(taken, two.stderr).not.toBeNull();
    expect(Number(taken![2])).toBeGreaterThan(0);
  });
});

describe('the SQLite source is unchanged for a real database', () => {
  it('still reads the story', async () => {
    const db = join(dir, 'story.db');
    toSqlite(db, rows);
    const s = await json(['--source', db]);
    expect(s.calls_total).toBe(whole.calls_total);
  });
});
