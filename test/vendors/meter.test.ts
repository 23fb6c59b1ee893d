import { describe, expect, it } from 'vitest';
import { VENDORS } from '../../src/vendors/registry.js';
import type { MeterRequest, MeterResponse, Metering } from '../../src/vendors/shared/meter.js';

/**
 * The meters on their own: a request, the answer's bytes cut into chunks at every possible
 * place (a stream's chunks never line up with its events), and what the agent and the audit get.
 */
const req = (path: string, body: Record<string, unknown> | null, extra: Partial<MeterRequest> = {}): MeterRequest => ({
  method: 'POST',
  path,
  query: new URLSearchParams(),
  headers: {},
  body,
  raw: Buffer.from(body ? JSON.stringify(body) : ''),
  ...extra,
});

const answer = (body: string, contentType: string, extra: Partial<MeterResponse> = {}): MeterResponse => ({
  status: 200,
  headers: { 'content-type': contentType },
  contentType,
  body: Buffer.from(body),
  truncated: false,
  ...extra,
});

/** Feed `bytes` through a metering cut at `at`, as the data plane does: tap each chunk, flush at the end. */
function relay(m: Metering, bytes: Buffer, cuts: number[]): Buffer {
  const out: Buffer[] = [];
  let from = 0;
  for (const at of [...cuts, bytes.length]) {
    const chunk = bytes.subarray(from, at);
    from = at;
    out.push(m.tap ? m.tap(chunk) : chunk);
  }
  if (m.flush) out.push(m.flush());
  return Buffer.concat(out);
}

const meterOf =
  (vendor: keyof typeof VENDORS) =>
  (r: MeterRequest): Metering =>
    VENDORS[vendor].proxy.meter(r, VENDORS[vendor].prices);

describe('OpenAI chat stream without include_usage', () => {
  const chunk = (extra: string) =>
    `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[${extra}],"usage":null}\n\n`;
  const upstream = [
    chunk('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}'),
    chunk('{"index":0,"delta":{"content":"he said \\"usage\\":null, ok"},"finish_reason":null}'),
    chunk('{"index":0,"delta":{},"finish_reason":"stop"}'),
    'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}}\n\n',
    'data: [DONE]\n\n',
  ].join('');
  const expected = upstream
    .split('\n\n')
    .filter((e) => e && !e.includes('"choices":[]'))
    .map((e) => e.replace(',"usage":null', '') + '\n\n')
    .join('');
  const body = {
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: 'x' }],
    seed: 1, // as parsed; the raw body below keeps all its digits
  };
  const raw = Buffer.from(
    `{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"x"}],"seed":12345678901234567890}`,
  );

  it('asks OpenAI for the usage by adding one field to the agent’s bytes (nothing else re-serialised)', () => {
    const m = meterOf('openai')(req('/v1/chat/completions', body, { raw }));
    expect(m.upstreamBody?.toString()).toBe(`{"stream_options":{"include_usage":true},${raw.toString().slice(1)}`);
  });

  it('at every chunk boundary, the agent gets the stream it would have had, and the cost is the usage', () => {
    const bytes = Buffer.from(upstream);
    for (let at = 1; at < bytes.length; at++) {
      const m = meterOf('openai')(req('/v1/chat/completions', body, { raw }));
      const seen = relay(m, bytes, [at]);
      expect(seen.toString(), `cut at ${at}`).toBe(expected);
      expect(m.cost(answer('', 'text/event-stream'))).toBeCloseTo((1000 * 0.15 + 2000 * 0.6) / 1e6, 12);
    }
  });

  it('a stream cut before its usage chunk is of unknown cost (null), never 0', () => {
    const m = meterOf('openai')(req('/v1/chat/completions', body, { raw }));
    relay(m, Buffer.from(upstream.slice(0, upstream.indexOf('"choices":[]'))), []);
    expect(m.cost(answer('', 'text/event-stream'))).toBeNull();
  });
});

describe('other OpenAI endpoints', () => {
  it('Responses stream: usage from response.completed, split anywhere', () => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const bytes = Buffer.from(
      ev('response.created', { response: { model: 'gpt-4.1', usage: null } }) +
        ev('response.output_text.delta', { delta: 'hi' }) +
        ev('response.completed', {
          response: {
            model: 'gpt-4.1',
            usage: { input_tokens: 1000, input_tokens_details: { cached_tokens: 400 }, output_tokens: 100 },
          },
        }),
    );
    for (let at = 1; at < bytes.length; at += 7) {
      const m = meterOf('openai')(req('/v1/responses', { model: 'gpt-4.1', stream: true, input: 'x' }));
      expect(relay(m, bytes, [at])).toEqual(bytes);
      expect(m.cost(answer('', 'text/event-stream'))).toBeCloseTo((600 * 2 + 400 * 0.5 + 100 * 8) / 1e6, 12);
    }
  });

  it('embeddings at the embedding price (text-embedding-3-small $0.02/M, not a chat default 125× that)', () => {
    const m = meterOf('openai')(req('/v1/embeddings', { model: 'text-embedding-3-small', input: 'x' }));
    const body = JSON.stringify({
      object: 'list',
      data: [],
      model: 'text-embedding-3-small',
      usage: { prompt_tokens: 1_000_000, total_tokens: 1_000_000 },
    });
    expect(m.cost(answer(body, 'application/json'))).toBeCloseTo(0.02, 12);
  });

  it('an embeddings answer too large to keep is priced from its tail', () => {
    const m = meterOf('openai')(req('/v1/embeddings', { model: 'text-embedding-3-large', input: ['x'] }));
    const big = `{"object":"list","data":[${Array.from({ length: 3000 }, () => '{"embedding":[0.1,0.2,0.3]}').join(',')}],"model":"text-embedding-3-large","usage":{"prompt_tokens":2000000,"total_tokens":2000000}}`;
    relay(m, Buffer.from(big), [1000, 50_000]);
    expect(m.cost(answer(big.slice(0, 10), 'application/json', { truncated: true }))).toBeCloseTo(0.26, 12);
  });

  it('DALL·E by image, size and quality; speech by character; moderations free; an unmetered POST unknown', () => {
    const dalle = meterOf('openai')(
      req('/v1/images/generations', { model: 'dall-e-3', quality: 'hd', size: '1024x1792', prompt: 'x' }),
    );
    expect(dalle.cost(answer('{}', 'application/json'))).toBe(0.12);
    const tts = meterOf('openai')(req('/v1/audio/speech', { model: 'tts-1', input: 'a'.repeat(1000), voice: 'alloy' }));
    expect(tts.cost(answer('', 'audio/mpeg'))).toBeCloseTo(0.015, 12);
    expect(meterOf('openai')(req('/v1/moderations', { input: 'x' })).cost(answer('{}', 'application/json'))).toBe(0);
    expect(meterOf('openai')(req('/v1/batches', {})).cost(answer('{}', 'application/json'))).toBeNull();
  });

  it('a failed call costs 0 (the vendor does not bill it)', () => {
    expect(
      meterOf('openai')(req('/v1/chat/completions', { model: 'gpt-4o' })).cost(
        answer('{"error":{}}', 'application/json', { status: 429 }),
      ),
    ).toBe(0);
  });
});

describe('Anthropic and Gemini streams', () => {
  it('Anthropic: input from message_start, output from the last message_delta, cache reads and writes at their rates', () => {
    const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const bytes = Buffer.from(
      ev('message_start', {
        message: {
          model: 'claude-sonnet-4-5',
          usage: {
            input_tokens: 1000,
            cache_read_input_tokens: 2000,
            cache_creation_input_tokens: 100,
            output_tokens: 1,
          },
        },
      }) +
        ev('content_block_delta', { delta: { type: 'text_delta', text: 'hi' } }) +
        ev('message_delta', { delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 500 } }) +
        ev('message_stop', {}),
    );
    for (let at = 1; at < bytes.length; at += 5) {
      const m = meterOf('anthropic')(
        req('/v1/messages', { model: 'claude-sonnet-4-5', stream: true, max_tokens: 10, messages: [] }),
      );
      expect(relay(m, bytes, [at])).toEqual(bytes);
      expect(m.cost(answer('', 'text/event-stream'))).toBeCloseTo(
        (1000 * 3 + 2000 * 0.3 + 100 * 3.75 + 500 * 15) / 1e6,
        12,
      );
    }
  });

  it('Gemini: SSE (CRLF events) and the JSON-array stream both give the last usageMetadata; thinking tokens are output', () => {
    const c = (out: number, thoughts: number) => ({
      candidates: [],
      usageMetadata: { promptTokenCount: 1000, candidatesTokenCount: out, thoughtsTokenCount: thoughts },
    });
    const sse = Buffer.from(`data: ${JSON.stringify(c(10, 0))}\r\n\r\ndata: ${JSON.stringify(c(300, 200))}\r\n\r\n`);
    const want = (1000 * 0.3 + 500 * 2.5) / 1e6;
    for (let at = 1; at < sse.length; at += 3) {
      const m = meterOf('gemini')(
        req('/v1beta/models/gemini-2.5-flash:streamGenerateContent', {}, { query: new URLSearchParams('alt=sse') }),
      );
      relay(m, sse, [at]);
      expect(m.cost(answer('', 'text/event-stream'))).toBeCloseTo(want, 12);
    }
    const arr = JSON.stringify([c(10, 0), c(300, 200)]);
    const m = meterOf('gemini')(req('/v1beta/models/gemini-2.5-flash:streamGenerateContent', {}));
    relay(m, Buffer.from(arr), [5]);
    expect(m.cost(answer(arr, 'application/json'))).toBeCloseTo(want, 12);
  });

  it('Gemini 2.5 Pro above 200k prompt tokens is billed at the long-context rates', () => {
    const m = meterOf('gemini')(req('/v1beta/models/gemini-2.5-pro:generateContent', {}));
    const body = JSON.stringify({ usageMetadata: { promptTokenCount: 300_000, candidatesTokenCount: 1000 } });
    expect(m.cost(answer(body, 'application/json'))).toBeCloseTo((300_000 * 2.5 + 1000 * 15) / 1e6, 12);
  });
});

describe('Stripe, Twilio and Resend', () => {
  it('Stripe: an Idempotent-Replayed answer moved nothing new', () => {
    const refund = JSON.stringify({ object: 'refund', amount: 1500, currency: 'usd' });
    const m = meterOf('stripe')(req('/v1/refunds', { charge: 'ch_1', amount: '1500' }));
    expect(m.cost(answer(refund, 'application/json'))).toBe(15);
    expect(m.cost(answer(refund, 'application/json', { headers: { 'idempotent-replayed': 'true' } }))).toBe(0);
  });

  it('Twilio: a message without a price yet (real Twilio answers price: null) is estimated per US segment; elsewhere unknown; GET free', () => {
    const sms = (to: string) => JSON.stringify({ sid: 'SM1', to, price: null, price_unit: 'USD', num_segments: '2' });
    const path = '/2010-04-01/Accounts/AC1/Messages.json';
    expect(
      meterOf('twilio')(req(path, { To: '+15555550100' })).cost(answer(sms('+15555550100'), 'application/json')),
    ).toBeCloseTo(0.0166, 12);
    expect(
      meterOf('twilio')(req(path, { To: '+447700900000' })).cost(answer(sms('+447700900000'), 'application/json')),
    ).toBeNull();
    expect(
      meterOf('twilio')(req('/2010-04-01/Accounts/AC1/Messages/SM1.json', null, { method: 'GET' })).cost(
        answer(sms('+1'), 'application/json'),
      ),
    ).toBe(0);
    expect(
      meterOf('twilio')(req('/2010-04-01/Accounts/AC1/Calls.json', {})).cost(answer('{}', 'application/json')),
    ).toBeNull();
  });

  it('Resend: a batch by its count; a repeated Idempotency-Key is not charged twice', () => {
    const batch = JSON.stringify({ data: [{ id: 'a' }, { id: 'b' }, { id: 'c' }] });
    expect(meterOf('resend')(req('/emails/batch', null)).cost(answer(batch, 'application/json'))).toBeCloseTo(
      0.0012,
      12,
    );
    const r = () => req('/emails', { to: 'x' }, { headers: { 'idempotency-key': `k-${process.pid}-meter-test` } });
    expect(meterOf('resend')(r()).cost(answer('{"id":"e1"}', 'application/json'))).toBe(0.0004);
    expect(meterOf('resend')(r()).cost(answer('{"id":"e1"}', 'application/json'))).toBe(0);
  });
});
