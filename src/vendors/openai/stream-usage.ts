import { ok, type MeterRequest, type Metering } from '../shared/meter.js';
import type { PriceTable } from '../shared/prices.js';
import { eventData, replaceBytes, SseEventEditor, SseWatcher } from '../shared/sse.js';

type UsageUsd = (prices: PriceTable, usage: unknown, model: string | undefined) => number | null;

/**
 * The agent's body with `stream_options.include_usage` set, or undefined when it asked for the
 * usage itself. A body without stream_options gets the field spliced in as text, so nothing else
 * in it is re-serialised (numbers keep their digits).
 */
export function withIncludeUsage(req: MeterRequest): Buffer | undefined {
  const opts = req.body?.stream_options;
  if (opts && typeof opts === 'object' && (opts as { include_usage?: unknown }).include_usage === true)
    return undefined;
  if (opts === undefined) {
    const text = req.raw.toString('utf8');
    const at = text.indexOf('{');
    if (at >= 0)
      return Buffer.from(`${text.slice(0, at + 1)}"stream_options":{"include_usage":true},${text.slice(at + 1)}`);
  }
  return Buffer.from(JSON.stringify({ ...req.body, stream_options: { ...(opts as object), include_usage: true } }));
}

/** A chunk with `"usage":null` as OpenAI sends it once include_usage is on, without that field. */
const stripNullUsage = (event: string) => event.replace(/,"usage":null(?=[,}])/g, '').replace(/\{"usage":null,/g, '{');
const NULL_USAGE = Buffer.from(',"usage":null}');
const NULL_USAGE_FIRST = Buffer.from('{"usage":null,');
/** The same on bytes, for the chunks without the usage (no decoding): OpenAI puts the field last. */
const stripNullUsageBytes = (events: Buffer) =>
  replaceBytes(replaceBytes(events, NULL_USAGE, Buffer.from('}')), NULL_USAGE_FIRST, Buffer.from('{'));

/**
 * A streamed chat completion's cost. Without `stream_options.include_usage` (the SDKs' default)
 * OpenAI sends no usage at all, so the proxy asks for it and takes out of the stream what that
 * added (the final usage chunk and the `"usage":null` in every other chunk): the agent gets the
 * stream it asked for, and the call its cost.
 */
export function chatStreamMeter(req: MeterRequest, prices: PriceTable, usd: UsageUsd): Metering {
  let usage: unknown;
  let model = typeof req.body?.model === 'string' ? req.body.model : undefined;
  const record = (d: Record<string, unknown>) => {
    if (!d.usage || typeof d.usage !== 'object') return;
    usage = d.usage;
    if (typeof d.model === 'string') model = d.model;
  };
  const cost = (status: number) => (!ok(status) ? 0 : usage ? usd(prices, usage, model) : null);
  const upstreamBody = withIncludeUsage(req);
  if (!upstreamBody) {
    const watcher = new SseWatcher([Buffer.from('"usage":{')], record);
    return { tap: watcher.push, cost: (res) => (watcher.end(), cost(res.status)) };
  }
  const editor = new SseEventEditor(
    Buffer.from('"usage":{'),
    (event) => {
      if (!event.includes('"usage":{')) return stripNullUsage(event);
      const d = eventData(event);
      if (!d) return event;
      record(d);
      // The usage chunk the proxy asked for: no choices, only usage. Anything else is the agent's.
      return Array.isArray(d.choices) && d.choices.length === 0 ? null : event;
    },
    stripNullUsageBytes,
  );
  return { upstreamBody, tap: editor.push, flush: editor.flush, cost: (res) => cost(res.status) };
}
