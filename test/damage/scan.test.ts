import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { defaultColumns } from '../../src/core/damage/columns.js';
import type { DamageQuery } from '../../src/core/damage/types.js';
import { summarize } from '../../src/core/damage/summary.js';
import { scanText, type ScanOptions } from '../../src/core/damage/scan/text.js';
import { readDecimal, readIsoZulu } from '../../src/core/damage/scan/bytes.js';
import { JsonLineScanner } from '../../src/core/damage/scan/json-line.js';
import { FieldSlots, ValueKind } from '../../src/core/damage/scan/row-builder.js';

const out = new Float64Array(1);
const isoZuluMs = (b: Buffer, s: number, e: number) => (readIsoZulu(b, s, e, out, 0) ? out[0]! : NaN);
const simpleDecimal = (b: Buffer, s: number, e: number) => (readDecimal(b, s, e, out, 0) ? out[0]! : NaN);
import { LineSplitter } from '../../src/core/damage/scan/lines.js';
import { REVOKED_AT, prng, storyRows, storyRowsUnmetered } from '../fixtures/damage/story.js';
import { COLUMNS_C6, toCsv, toJsonl } from '../fixtures/damage/write.js';
import { referenceCsv, referenceJsonl } from './reference.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-scan-'));
const cols = defaultColumns();
const QUERY: DamageQuery = { revoked_at: Date.parse(REVOKED_AT) };

let files = 0;
/** The summary scanText gives for this text, or the usage error it throws. */
async function scanned(
  format: 'jsonl' | 'csv',
  text: string | Buffer,
  opts: ScanOptions & { stream?: number } = {},
  query = QUERY,
) {
  const path = join(dir, `f${files++}.${format}`);
  writeFileSync(path, text);
  const bytes = Buffer.from(text);
  // A stream in pieces of `stream` bytes: lines, and UTF-8 sequences, cut anywhere.
  const pieces = () =>
    Readable.from(
      Array.from({ length: Math.ceil(bytes.length / opts.stream!) }, (_, i) =>
        bytes.subarray(i * opts.stream!, (i + 1) * opts.stream!),
      ),
    );
  const input = opts.stream
    ? { label: 'stdin', path: null, open: pieces }
    : { label: path, path, open: () => Readable.from([]) };
  try {
    return JSON.stringify(summarize(await scanText(format, input, cols, query, opts), query, 'ref'));
  } catch (err) {
    return `error: ${(err as Error).message.replace(path, 'FILE').replace('stdin', 'FILE')}`;
  }
}

/** The reference's answer in the same form: its summary, or the error scanText must throw. */
function expected(format: 'jsonl' | 'csv', text: string, query = QUERY): string {
  const ref = (format === 'jsonl' ? referenceJsonl : referenceCsv)(text, cols, query);
  const bad = ref.summary.bad_rows;
  if (ref.rowsRead === 0 && bad.count > 0)
    return `error: FILE: no line is a readable audit row (${bad.count} unreadable, first at line ${bad.first_lines.join(', ')})`;
  return JSON.stringify(ref.summary);
}

describe('reading values straight from bytes gives what Date.parse and Number give', () => {
  it("ISO times in the proxy's shape, edge days and hours included; anything else is left to Date.parse", () => {
    const rnd = prng(7);
    const pad = (n: number, w: number) => String(n).padStart(w, '0');
    const samples = [
      '2024-02-29T23:59:59.999Z',
      '2026-02-30T00:00:00Z',
      '2026-04-31T12:00:00.000Z',
      '2026-11-20T24:00:00Z',
      '2026-11-20T23:60:00Z',
      '0000-01-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-11-20T00:00:00.5Z',
      '2026-11-20 00:00:00.000Z',
      '2026-11-20T00:00:00.000z',
    ];
    for (let i = 0; i < 5000; i++) {
      const parts = [
        pad(Math.floor(rnd() * 10000), 4),
        pad(Math.floor(rnd() * 14), 2),
        pad(Math.floor(rnd() * 33), 2),
        pad(Math.floor(rnd() * 26), 2),
        pad(Math.floor(rnd() * 61), 2),
        pad(Math.floor(rnd() * 61), 2),
      ];
      const ms = rnd() < 0.5 ? `.${pad(Math.floor(rnd() * 1000), 3)}` : '';
      samples.push(`${parts[0]}-${parts[1]}-${parts[2]}T${parts[3]}:${parts[4]}:${parts[5]}${ms}Z`);
    }
    for (const s of samples) {
      const fast = isoZuluMs(Buffer.from(s), 0, s.length);
      if (!Number.isNaN(fast)) expect(fast, s).toBe(Date.parse(s));
    }
    expect(isoZuluMs(Buffer.from(samples[0]!), 0, 24)).toBe(Date.parse(samples[0]!));
  });

  it('decimals: the same double as Number(), or NaN to take Number() itself', () => {
    const rnd = prng(11);
    const samples = [
      '0',
      '-0',
      '007',
      '1.',
      '.5',
      '0.1',
      '123456789012345',
      '1234567890123456',
      '1e3',
      '-12.50',
      '',
      '-',
      '1.2.3',
      ' 1',
    ];
    for (let i = 0; i < 5000; i++)
      samples.push(
        `${rnd() < 0.2 ? '-' : ''}${Math.floor(rnd() * 10 ** Math.floor(rnd() * 12))}${rnd() < 0.7 ? '.' + String(Math.floor(rnd() * 10 ** Math.floor(1 + rnd() * 6))) : ''}`,
      );
    for (const s of samples) {
      const fast = simpleDecimal(Buffer.from(s), 0, s.length);
      if (!Number.isNaN(fast)) expect(Object.is(fast, Number(s)), s).toBe(true);
    }
  });
});

/** Variations of one row a real file may hold, good and broken. */
function jsonlVariants(rnd: () => number): string[] {
  const base = toJsonl(storyRows().slice(0, 40)).trimEnd().split('\n');
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const field = (k: string, v: string) => (line: string) =>
    line.replace(new RegExp(`"${k}":(("[^"]*")|[^,}]*)`), `"${k}":${v}`);
  const edits = [
    field(
      'cost_usd_parsed',
      pick([
        '1e2',
        '-0',
        '0.1',
        '"12.5"',
        '" 12"',
        '"0x10"',
        'true',
        'null',
        '[]',
        '{}',
        '"NaN"',
        '1e309',
        '-1e308',
        '-5',
        '2e9',
        '"Infinity"',
        '12.345678901234567',
      ]),
    ),
    field(
      'started_at',
      pick([
        '"2026-11-21 02:14:00"',
        '1795740840',
        '1795740840000',
        '"2026-02-30T00:00:00Z"',
        '"2026-11-21T24:00:00Z"',
        '"2026-11-21T02:14:00.1Z"',
        '"2026-11-21T02:14:00+01:00"',
        'null',
        '""',
        '"2026-11-21t02:14:00z"',
        'true',
      ]),
    ),
    field('finished_at', pick(['"garbage"', 'null', '1795740900', '"2026-11-21T02:20:06Z"'])),
    field(
      'customer_scope_id',
      pick(['"cus_\\u0041"', '"cus_\\"q"', '"cüs_ü"', '"cus_😀"', '""', '123', '1e2', 'null', '{"a":1}', 'false']),
    ),
    field('policy_verdict', pick(['"allow"', '"ok"', '"unknown"', 'null', '""', '"ALLOWED"', '"allowed\\n"'])),
    field('path', pick(['"/v1/charges/ch_12345678"', '"/v1/x\\/y"', 'null', '"/v1/ref\tunds"'])),
    (l: string) =>
      l.replace(
        '{',
        pick([
          '{"started_at":"x",',
          '{"\\u0073tarted_at":"2026-11-21T02:14:00Z",',
          '{"__proto__":1,',
          '{"constructor":"c",',
          ' \t{',
          '{"nested":{"a":[1,{"b":null}]},',
        ]),
      ),
    (l: string) =>
      l.replace(
        /}$/,
        pick([
          ',"started_at":"2027-01-01T00:00:00Z"}',
          '} ',
          '}\r',
          '},',
          '}}',
          ',"x":tru}',
          ',"x":01}',
          ',"x":1.}',
          ',"x":-}',
          ',"x":"\\uZZZZ"}',
        ]),
      ),
    (l: string) => {
      const i = Math.floor(rnd() * l.length);
      const ch = pick([
        '"',
        '\\',
        ',',
        ':',
        '{',
        '}',
        '[',
        ']',
        ' ',
        '\t',
        'e',
        '-',
        '0',
        '.',
        'n',
        'é',
        '\u0001',
        '\u001f',
        '\u007f',
        '\u00a0',
      ]);
      return rnd() < 0.5 ? l.slice(0, i) + l.slice(i + 1) : l.slice(0, i) + ch + l.slice(i);
    },
  ];
  return base.map((l) => {
    let out = l;
    for (let k = Math.floor(rnd() * 3); k > 0; k--) out = pick(edits)(out);
    return out;
  });
}

describe('the JSONL byte scanner takes the common line itself', () => {
  it('lines as the proxy writes them are read without JSON.parse, every wanted value where it is', () => {
    const slots = FieldSlots.forColumns(cols);
    const scanner = new JsonLineScanner(slots);
    const rows = [
      {
        id: 1,
        started_at: '2026-11-20T00:00:00.050Z',
        vault_key_id: 'vk_7',
        agent_run_id: 'run_13',
        customer_scope_id: 'cus_31',
        vendor: 'stripe',
        method: 'POST',
        path: '/v1/charges',
        policy_verdict: 'allowed',
        cost_usd_parsed: 79.19,
      },
      {
        id: 2,
        started_at: '2026-11-20T00:00:00.100Z',
        vault_key_id: 'vk_14',
        agent_run_id: 'r',
        customer_scope_id: 'cüs_ü',
        vendor: '',
        method: 'GET',
        path: '/v1/refunds/re_1',
        policy_verdict: 'rate_limited',
        cost_usd_parsed: null,
      },
      {
        id: 3,
        started_at: 'x',
        vault_key_id: 'abcd',
        agent_run_id: 'ab',
        customer_scope_id: 'abc',
        vendor: 's"q',
        method: 'POST',
        path: '/',
        policy_verdict: 'a\\b',
        cost_usd_parsed: -1.5e3,
      },
    ];
    for (const row of rows) {
      const line = Buffer.from(`  ${JSON.stringify(row)} `);
      // Twice: the second time the keys are known from the line before.
      for (let pass = 0; pass < 2; pass++) {
        expect(scanner.scan(line, 0, line.length), JSON.stringify(row)).toBe(true);
        slots.names.forEach((name, slot) => {
          const value = (row as Record<string, unknown>)[name];
          const kind = slots.kind[slot];
          if (value === undefined) return expect(kind).toBe(ValueKind.Absent);
          const raw = line.subarray(slots.start[slot], slots.end[slot]).toString();
          if (value === null) return expect(kind).toBe(ValueKind.Null);
          if (typeof value === 'number') return expect([kind, Number(raw)]).toEqual([ValueKind.Number, value]);
          const escaped = JSON.stringify(value).slice(1, -1) !== value;
          expect([kind, escaped ? JSON.parse(`"${raw}"`) : raw, slots.ascii[slot] === 1]).toEqual([
            escaped ? ValueKind.Other : ValueKind.String,
            value,
            [...(value as string)].every((c) => c.charCodeAt(0) < 128),
          ]);
        });
      }
    }
  });
});

describe('the JSONL byte scanner reads every line as JSON.parse and normalizeRecord do', () => {
  it('thousands of mutated lines: same summary, same bad rows, line for line', async () => {
    const rnd = prng(3);
    for (let round = 0; round < 60; round++) {
      const lines = jsonlVariants(rnd);
      lines.splice(Math.floor(rnd() * lines.length), 0, '', '   ', '\u00a0', '[1,2]', 'null', '"x"', '{}');
      const text = lines.join('\n') + (rnd() < 0.5 ? '\n' : '');
      expect(await scanned('jsonl', text), `round ${round}`).toBe(expected('jsonl', text));
    }
  });

  it('with filters and a window, the same too', async () => {
    const rnd = prng(5);
    const text = jsonlVariants(rnd).join('\n') + '\n' + toJsonl(storyRows());
    const queries: DamageQuery[] = [
      { customer_scope_id: 'cus_A1' },
      { vault_key_id: 'vk_refund_agent', revoked_at: QUERY.revoked_at },
      { agent_run_id: 'run_nonexistent' },
      { from: Date.parse('2026-11-21T02:15:00Z'), to: Date.parse('2026-11-21T02:18:00Z') },
    ];
    for (const q of queries) expect(await scanned('jsonl', text, {}, q)).toBe(expected('jsonl', text, q));
  });
});

/** CSV records a real file may hold: quoted fields, quoted newlines, short rows, bad numbers. */
function csvText(rnd: () => number): string {
  // With the write-ahead columns and calls of unknown cost and outcome (C6) among the rows.
  const u = storyRowsUnmetered();
  const rows = [...u.slice(0, 50), ...u.filter((r) => r.policy_verdict === 'allowed' && r.cost_usd_parsed === null)];
  const lines = toCsv(rows.slice(0, 60), COLUMNS_C6).trimEnd().split('\n');
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  for (let i = 1; i < lines.length; i++) {
    if (rnd() > 0.3) continue;
    const cells = lines[i]!.split(',');
    const c = Math.floor(rnd() * cells.length);
    cells[c] = pick([
      '"q,uoted"',
      '"multi\nline"',
      '"un\nclosed',
      '',
      ' 12',
      '0x10',
      '-1e308',
      'NaN',
      '1e3',
      '2026-11-21 02:14:00',
      'ü',
      '"a""b"',
      '\u00a0',
      'x"y',
    ]);
    lines[i] = rnd() < 0.1 ? cells.slice(1).join(',') : cells.join(',');
  }
  if (rnd() < 0.3) lines.splice(1, 0, '', '  ');
  return lines.join(rnd() < 0.3 ? '\r\n' : '\n') + (rnd() < 0.5 ? '\n' : '');
}

describe('the CSV byte splitter reads every record as splitCsv and normalizeRecord do', () => {
  it('mutated files: same summary, same bad rows', async () => {
    const rnd = prng(9);
    for (let round = 0; round < 60; round++) {
      const text = csvText(rnd);
      expect(await scanned('csv', text), `round ${round}`).toBe(expected('csv', text));
    }
  });
});

describe('lines are the same however the bytes arrive', () => {
  it('pieces of any size: CRLF, a byte-order mark, multi-byte characters cut in two, no final newline', () => {
    const text = '\uFEFF{"a":"ü"}\r\n\r\n{"b":"😀"}\n' + 'x'.repeat(300) + '\n{"c":"€"}';
    const bytes = Buffer.from(text);
    const collect = (piece: number) => {
      const out: string[] = [];
      const s = new LineSplitter(
        {
          line: (b, st, en, n) => out.push(`${n}:${b.toString('utf8', st, en)}`),
          tooLong: (n) => out.push(`${n}:long`),
        },
        { maxLineBytes: 200 },
      );
      for (let i = 0; i < bytes.length; i += piece) s.push(bytes.subarray(i, Math.min(bytes.length, i + piece)));
      s.end();
      return out;
    };
    const whole = collect(bytes.length);
    expect(whole).toEqual(['1:{"a":"ü"}', '2:', '3:{"b":"😀"}', '4:long', '5:{"c":"€"}']);
    for (const piece of [1, 2, 3, 5, 7, 64]) expect(collect(piece), `pieces of ${piece}`).toEqual(whole);
  });
});

/** A file with every boundary case: bad rows everywhere, CRLF in places, multi-byte text, a BOM, no final newline. */
function hardJsonl(rnd: () => number, rows: number): string {
  const story = storyRowsUnmetered(); // unknown costs and outcomes (C6) among them
  const out: string[] = [];
  for (let i = 0; i < rows; i++) {
    const r = {
      ...story[i % story.length]!,
      customer_scope_id: rnd() < 0.2 ? `cüstømer_${i % 13}_😀` : story[i % story.length]!.customer_scope_id,
    };
    const line = JSON.stringify(r);
    const roll = rnd();
    out.push(
      roll < 0.04 ? line.slice(0, Math.floor(rnd() * line.length)) : roll < 0.06 ? '' : roll < 0.1 ? line + '\r' : line,
    );
  }
  return '\uFEFF' + out.join('\n');
}

describe('a file read in stretches on several lanes gives the one-thread summary, row for row', () => {
  it('JSONL: stretch boundaries anywhere, bad rows and CRLF and multi-byte text at them', async () => {
    const rnd = prng(21);
    const text = hardJsonl(rnd, 3000);
    const single = await scanned('jsonl', text, { threads: 1 });
    expect(single).toBe(expected('jsonl', text));
    expect(JSON.parse(single).bad_rows.count).toBeGreaterThan(50);
    for (const stretchBytes of [1, 97, 1000, 4093, 65536])
      expect(await scanned('jsonl', text, { threads: 2, stretchBytes }), `stretches of ${stretchBytes}`).toBe(single);
    expect(await scanned('jsonl', text, { stream: 7 })).toBe(single);
  });

  it('CSV: the header read once, records spanning a boundary read again on one thread', async () => {
    const rnd = prng(23);
    for (let round = 0; round < 8; round++) {
      const text = '\uFEFF' + csvText(rnd) + csvText(rnd).split('\n').slice(1).join('\n');
      const single = await scanned('csv', text, { threads: 1 });
      expect(single).toBe(expected('csv', text));
      for (const stretchBytes of [1, 50, 333, 2048])
        expect(
          await scanned('csv', text, { threads: 3, stretchBytes }),
          `round ${round}, stretches of ${stretchBytes}`,
        ).toBe(single);
      expect(await scanned('csv', text, { stream: 5 })).toBe(single);
    }
    // A quote inside an unquoted field is text on every path: no stretch is left open by it.
    const stray = toCsv(storyRows().slice(0, 200))
      .split('\n')
      .map((l, i) => (i > 0 && i % 3 === 0 ? l.replace('/v1/', '/v1/"') : l))
      .join('\n');
    const single = await scanned('csv', stray, { threads: 1 });
    expect(JSON.parse(single).calls_total).toBe(200);
    for (const stretchBytes of [1, 50, 333, 2048])
      expect(await scanned('csv', stray, { threads: 3, stretchBytes }), `stray quotes, ${stretchBytes}`).toBe(single);
  });

  it('the first line that is not UTF-8 is named, whichever stretch holds it', async () => {
    const good = toJsonl(storyRows().slice(0, 200));
    const bad = Buffer.concat([
      Buffer.from(good),
      Buffer.from('{"customer_scope_id":"caf'),
      Buffer.from([0xe9]),
      Buffer.from('"}\n'),
      Buffer.from(good),
    ]);
    for (const opts of [{ threads: 1 }, { threads: 2, stretchBytes: 3000 }, { stream: 11 }])
      expect(await scanned('jsonl', bad, opts)).toBe(
        'error: FILE: line 201 is not UTF-8 text (Latin-1, or a binary file?)',
      );
  });
});
