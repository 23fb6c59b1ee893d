import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findAnomalyStart } from '../../src/core/damage/anomaly.js';
import { sparkline } from '../../src/render/sparkline.js';
import { formatLocal, parseAuditTime, parseDuration } from '../../src/core/damage/time.js';
import { splitCsv } from '../../src/core/damage/sources/csv.js';
import { parseColumnMap } from '../../src/core/damage/columns.js';
import { parseSourceSpec } from '../../src/core/damage/spec.js';
import { refundsCsv } from '../../src/core/damage/refunds.js';
import type { DamageSummary } from '../../src/core/damage/types.js';
import { Interner } from '../../src/core/damage/intern.js';
import { prng } from '../fixtures/damage/story.js';

describe('anomaly start', () => {
  it('is the first minute above 5x the baseline before it', () => {
    expect(findAnomalyStart([2, 2, 2, 2, 11, 150, 150])).toEqual({ index: 4, baseline: 2 });
  });
  it('exactly 5x is not above 5x', () => {
    expect(findAnomalyStart([2, 2, 10, 10]).index).toBeNull();
  });
  it('ignores the empty minutes before the first call, and needs a minute before it', () => {
    expect(findAnomalyStart([0, 0, 0, 150, 150]).index).toBeNull();
    expect(findAnomalyStart([0, 0, 1, 0, 1, 9]).index).toBe(5);
  });
  it('a quiet baseline is floored at one call a minute', () => {
    expect(findAnomalyStart([1, 0, 0, 0, 5]).index).toBeNull();
    expect(findAnomalyStart([1, 0, 0, 0, 6]).index).toBe(4);
  });
  it('no calls, no anomaly and no baseline', () => {
    expect(findAnomalyStart([])).toEqual({ index: null, baseline: null });
    expect(findAnomalyStart([0, 0])).toEqual({ index: null, baseline: null });
  });
});

describe('sparkline', () => {
  it('scales to the largest value and keeps zero as the lowest bar', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▂▃▅█');
  });
  it('fits the width by summing neighbours', () => {
    expect([
      ...sparkline(
        Array.from({ length: 600 }, (_, i) => i),
        60,
      ),
    ]).toHaveLength(60);
  });
});

describe('time', () => {
  it('reads ISO with and without a zone (none = UTC), epoch seconds and ms', () => {
    const ms = Date.parse('2026-11-21T02:14:00Z');
    expect(parseAuditTime('2026-11-21T02:14:00Z')).toBe(ms);
    expect(parseAuditTime('2026-11-21 02:14:00')).toBe(ms);
    expect(parseAuditTime('2026-11-21T03:14:00+01:00')).toBe(ms);
    // PostgreSQL's own text: an offset in hours only, seconds optional, fractions too
    expect(parseAuditTime('2026-11-21 02:14:00+00')).toBe(ms);
    expect(parseAuditTime('2026-11-21 03:14:00+01')).toBe(ms);
    expect(parseAuditTime('2026-11-20 21:14-05')).toBe(ms);
    expect(parseAuditTime('2026-11-21 02:14:00.250+00')).toBe(ms + 250);
    expect(parseAuditTime('2026-11-21')).toBe(Date.parse('2026-11-21T00:00:00Z'));
    expect(parseAuditTime(ms / 1000)).toBe(ms);
    expect(parseAuditTime(ms)).toBe(ms);
    expect(parseAuditTime(String(ms / 1000))).toBe(ms);
    expect(parseAuditTime('yesterday')).toBeNaN();
  });
  it('shows UTC instants in the zone given', () => {
    const ms = Date.parse('2026-11-21T02:14:05Z');
    expect(formatLocal(ms, 'UTC')).toBe('2026-11-21 02:14:05 UTC');
    expect(formatLocal(ms, 'America/New_York')).toBe('2026-11-20 21:14:05 EST');
    expect(formatLocal(ms, 'Asia/Kolkata', false)).toBe('2026-11-21 07:44 GMT+5:30');
  });
  it('durations', () => {
    expect(parseDuration('30m', '--since')).toBe(1_800_000);
    expect(() => parseDuration('30 minutes', '--since')).toThrow(/not a duration/);
  });
});

describe('parsing inputs', () => {
  it('CSV quotes', () => {
    expect(splitCsv('a,"b,c","d ""e"""')).toEqual(['a', 'b,c', 'd "e"']);
    expect(splitCsv('a,"open')).toBeNull();
  });
  it('column maps refuse typos and SQL', () => {
    expect(parseColumnMap('started_at=ts').started_at).toBe('ts');
    expect(() => parseColumnMap('startedat=ts')).toThrow(/unknown audit field/);
    expect(() => parseColumnMap('started_at=ts; DROP TABLE x')).toThrow(/not a plain identifier/);
  });
  it('source specs', () => {
    expect(parseSourceSpec('proxy')).toEqual({ kind: 'proxy' });
    expect(parseSourceSpec('postgres://u@h/db')).toEqual({ kind: 'postgres', url: 'postgres://u@h/db' });
    expect(parseSourceSpec('-', 'csv')).toEqual({ kind: 'file', format: 'csv', path: '-' });
    expect(parseSourceSpec('litellm+https://llm.example')).toEqual({ kind: 'litellm-api', url: 'https://llm.example' });
    expect(parseSourceSpec('prod')).toEqual({ kind: 'profile', name: 'prod' });
    expect(() => parseSourceSpec('/nope/audit.jsonl')).toThrow(/does not exist/);
  });
  it('refund CSV defuses spreadsheet formulas', () => {
    const s = {
      customers: [
        { customer_scope_id: '=HYPERLINK("x")', calls: 2, cost_usd: 1.5 },
        { customer_scope_id: null, calls: 1, cost_usd: 0 },
      ],
    } as DamageSummary;
    expect(refundsCsv(s)).toBe('customer_scope_id,calls,cost_usd\n"\'=HYPERLINK(""x"")",2,1.5\n,1,0\n');
  });
});

describe('streaming lines', () => {
  it('splits on bytes across chunks without breaking UTF-8, CRLF, and a last line with no newline', async () => {
    const { forEachLine } = await import('../../src/core/damage/sources/lines.js');
    const { Readable } = await import('node:stream');
    const bytes = Buffer.from('a€b\r\nzweite Zeile ü\n\nlast');
    const chunks = [...bytes].map((b) => Buffer.from([b])); // one byte at a time
    const got: [string, number][] = [];
    await forEachLine(Readable.from(chunks), (l, n) => got.push([l, n]));
    expect(got).toEqual([
      ['a€b', 1],
      ['zweite Zeile ü', 2],
      ['', 3],
      ['last', 4],
    ]);
  });
});

describe('SQLite on two threads', () => {
  it('gives the same summary as one connection', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { storyRows, REVOKED_AT } = await import('../fixtures/damage/story.js');
    const { toSqlite } = await import('../fixtures/damage/write.js');
    const { SqliteSource } = await import('../../src/core/damage/sources/sqlite.js');
    const { computeDamage } = await import('../../src/core/damage/damage.js');
    const { defaultColumns } = await import('../../src/core/damage/columns.js');
    const db = join(mkdtempSync(join(tmpdir(), 'tq-lanes-')), 'a.db');
    toSqlite(db, storyRows());
    const q = { revoked_at: Date.parse(REVOKED_AT), vault_key_id: 'vk_refund_agent' };
    const one = await computeDamage(new SqliteSource(db, 'agent_call_audit', defaultColumns()), q);
    const two = await computeDamage(new SqliteSource(db, 'agent_call_audit', defaultColumns(), 0), q);
    expect(two).toEqual(one);
    expect(one.calls_total).toBeGreaterThan(900);
  });
});

describe('SQLite files that store times as epoch numbers', () => {
  it.each([
    ['epoch milliseconds (INTEGER)', (iso: string) => Date.parse(iso)],
    ['epoch seconds (REAL, with fractions)', (iso: string) => Date.parse(iso) / 1000],
  ])('%s summarise like ISO text', async (_name, conv) => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { default: Database } = await import('better-sqlite3');
    const { storyRows, REVOKED_AT } = await import('../fixtures/damage/story.js');
    const { toSqlite, SQLITE_SCHEMA, COLUMNS } = await import('../fixtures/damage/write.js');
    const { SqliteSource } = await import('../../src/core/damage/sources/sqlite.js');
    const { computeDamage } = await import('../../src/core/damage/damage.js');
    const { defaultColumns } = await import('../../src/core/damage/columns.js');
    const d = mkdtempSync(join(tmpdir(), 'tq-epoch-'));
    const rows = storyRows();
    toSqlite(join(d, 'iso.db'), rows);
    const db = new Database(join(d, 'epoch.db'));
    db.exec(SQLITE_SCHEMA.replace('started_at TEXT, finished_at TEXT', 'started_at NUMERIC, finished_at NUMERIC'));
    const ins = db.prepare(
      `INSERT INTO agent_call_audit (${COLUMNS.join(',')}) VALUES (${COLUMNS.map((c) => '@' + c).join(',')})`,
    );
    db.transaction(() =>
      rows.forEach((r) => ins.run({ ...r, started_at: conv(r.started_at), finished_at: conv(r.finished_at) })),
    )();
    db.close();
    const q = {
      revoked_at: Date.parse(REVOKED_AT),
      from: Date.parse('2026-11-21T02:00:00Z'),
      to: Date.parse('2026-11-21T02:30:00Z'),
    };
    const { source: _a, ...iso } = await computeDamage(
      new SqliteSource(join(d, 'iso.db'), 'agent_call_audit', defaultColumns()),
      q,
    );
    const { source: _b, ...epoch } = await computeDamage(
      new SqliteSource(join(d, 'epoch.db'), 'agent_call_audit', defaultColumns()),
      q,
    );
    expect(epoch).toEqual(iso);
  });
});

describe('the interner numbers values by their bytes', () => {
  it('distinct values get distinct ids and give their text back, even when their hashes collide', () => {
    // 300,000 random values of 12 and 13 bytes: some pairs share a full 32-bit hash (a few are
    // expected), so only the byte-for-byte comparison tells them apart.
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_';
    const values = new Set<string>();
    const rnd = prng(11);
    while (values.size < 300_000) {
      let mid = '';
      for (let k = 0; k < 8; k++) mid += alphabet[Math.floor(rnd() * 64)];
      values.add(rnd() < 0.5 ? `cus_${mid}` : `cus_${mid}e`);
    }
    const interner = new Interner();
    const ids = new Map<string, number>();
    const bytes = Buffer.from([...values].join(''), 'latin1');
    let at = 0;
    for (const v of values) {
      ids.set(v, interner.ofBytes(bytes, at, at + v.length));
      at += v.length;
    }
    expect(new Set(ids.values()).size).toBe(values.size);
    for (const [v, id] of ids) if (interner.text(id) !== v) expect(interner.text(id)).toBe(v);
    // Asked again, from another buffer at another offset: the same ids.
    const again = Buffer.from('xy' + [...values].join(''), 'latin1');
    at = 2;
    for (const v of values) {
      const id = interner.ofBytes(again, at, at + v.length);
      if (id !== ids.get(v)) expect(id).toBe(ids.get(v));
      at += v.length;
    }
  });
});
