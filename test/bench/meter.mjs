// Metering's cost on the proxy's hot path for a streamed call: a 200-chunk SSE answer fed
// through each vendor's meter (tap every chunk, flush, cost) as the data plane does, against
// the same bytes relayed untouched. p50/p99 of the time the meter adds per stream.
// `npm run bench -- meter`
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundle, median, pct, ROOT } from './_lib.mjs';

const CHUNKS = 200;
const ROUNDS = Number(process.env.BENCH_METER_ROUNDS ?? 2000);

/** 200 SSE chunks as each vendor sends them, the usage where it puts it. */
function streamOf(vendor, withUsage) {
  const words = Array.from({ length: CHUNKS - 2 }, (_, i) => `word${i} `);
  const sse = (obj, event) => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(obj)}\n\n`;
  if (vendor === 'openai') {
    const base = {
      id: 'chatcmpl-bench',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-4o-mini',
      system_fingerprint: 'fp_bench',
    };
    const u = withUsage ? { usage: null } : {};
    return [
      sse({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], ...u }),
      ...words.map((w) => sse({ ...base, choices: [{ index: 0, delta: { content: w }, finish_reason: null }], ...u })),
      sse({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], ...u }),
      ...(withUsage
        ? [sse({ ...base, choices: [], usage: { prompt_tokens: 1200, completion_tokens: 200, total_tokens: 1400 } })]
        : []),
      'data: [DONE]\n\n',
    ].map((s) => Buffer.from(s));
  }
  if (vendor === 'anthropic') {
    return [
      sse(
        {
          type: 'message_start',
          message: { id: 'msg', model: 'claude-sonnet-4-5', usage: { input_tokens: 1200, output_tokens: 1 } },
        },
        'message_start',
      ),
      ...words.map((w) =>
        sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: w } }, 'content_block_delta'),
      ),
      sse(
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 200 } },
        'message_delta',
      ),
      sse({ type: 'message_stop' }, 'message_stop'),
    ].map((s) => Buffer.from(s));
  }
  return [
    ...words.map((w, i) =>
      sse({
        candidates: [{ content: { parts: [{ text: w }], role: 'model' }, index: 0 }],
        usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: i + 1 },
      }),
    ),
    sse({ candidates: [], usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 200 } }),
    sse({ candidates: [], usageMetadata: { promptTokenCount: 1200, candidatesTokenCount: 200 } }),
  ].map((s) => Buffer.from(s));
}

/** One stream through a meter, timed; the sink stands in for the socket write. */
function once(meter, chunks, sink) {
  const t0 = process.hrtime.bigint();
  for (const c of chunks) sink(meter.tap ? meter.tap(c) : c);
  if (meter.flush) sink(meter.flush());
  meter.cost({ status: 200, headers: {}, contentType: 'text/event-stream', body: Buffer.alloc(0), truncated: false });
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  return us;
}

export async function bench() {
  // Inside the repository (git-ignored), so the bundle finds node_modules.
  mkdirSync(join(ROOT, '.tourniquet-tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tourniquet-tmp', 'bench-meter-'));
  try {
    await bundle(dir, ['src/vendors/registry.ts']);
    const { VENDORS } = await import(pathToFileURL(join(dir, 'registry.js')).href);
    let bytes = 0;
    const sink = (b) => (bytes += b.length);
    const request = (path, body) => ({
      method: 'POST',
      path,
      query: new URLSearchParams(),
      headers: {},
      body,
      raw: Buffer.from(JSON.stringify(body)),
    });
    const cases = [
      [
        'OpenAI chat, no include_usage (usage asked for, stripped)',
        'openai',
        () => request('/v1/chat/completions', { model: 'gpt-4o-mini', stream: true, messages: [] }),
        streamOf('openai', true),
      ],
      [
        'OpenAI chat, include_usage from the agent (watched)',
        'openai',
        () =>
          request('/v1/chat/completions', {
            model: 'gpt-4o-mini',
            stream: true,
            stream_options: { include_usage: true },
            messages: [],
          }),
        streamOf('openai', true),
      ],
      [
        'Anthropic Messages stream',
        'anthropic',
        () => request('/v1/messages', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, messages: [] }),
        streamOf('anthropic'),
      ],
      [
        'Gemini streamGenerateContent (SSE)',
        'gemini',
        () => request('/v1beta/models/gemini-2.5-flash:streamGenerateContent', {}),
        streamOf('gemini'),
      ],
    ];
    const rows = [];
    // Baseline: the same chunks relayed with no meter at all.
    const plain = [];
    for (let i = 0; i < ROUNDS; i++) plain.push(once({ cost: () => 0 }, cases[0][3], sink));
    rows.push({ metric: 'no meter (relay only): p50', value: median(plain), unit: 'µs/stream' });
    for (const [name, vendor, req, chunks] of cases) {
      const mod = VENDORS[vendor];
      const times = [];
      for (let i = 0; i < ROUNDS; i++) {
        const m = mod.proxy.meter(req(), mod.prices);
        times.push(once(m, chunks, sink));
        if (
          i === 0 &&
          m.cost({
            status: 200,
            headers: {},
            contentType: 'text/event-stream',
            body: Buffer.alloc(0),
            truncated: false,
          }) === null
        )
          throw new Error(`${name}: no cost`);
      }
      rows.push({ metric: `${name}: p50 added`, value: Math.max(0, median(times) - median(plain)), unit: 'µs/stream' });
      rows.push({
        metric: `${name}: p99 added`,
        value: Math.max(0, pct(times, 99) - median(plain)),
        unit: 'µs/stream',
      });
      rows.push({
        metric: `${name}: p50 per chunk`,
        value: Math.max(0, median(times) - median(plain)) / CHUNKS,
        unit: 'µs/chunk',
      });
    }
    return {
      name: 'metering on the hot path (200-chunk SSE stream)',
      note: `${ROUNDS} streams of ${CHUNKS} chunks per case, in process (no sockets); ${Math.round(bytes / 1e6)} MB relayed in all.`,
      rows,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
