import { jsonBody, notCharged, num, ok, unknownCost, type MeterRequest, type Metering } from '../shared/meter.js';
import { modelPrice, tokenUsd, type PriceTable } from '../shared/prices.js';
import { SseWatcher } from '../shared/sse.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});

/** A Messages usage block's tokens times the model's prices (cache reads and writes at their rates). */
export function anthropicUsd(prices: PriceTable, usage: Obj, model: unknown): number | null {
  const price = modelPrice(prices, typeof model === 'string' ? model : undefined);
  if (!price) return null;
  return tokenUsd(price, {
    input: num(usage.input_tokens),
    output: num(usage.output_tokens),
    cachedInput: num(usage.cache_read_input_tokens),
    cacheWrite: num(usage.cache_creation_input_tokens),
  });
}

/**
 * A streamed message's usage: `message_start` carries the input side, `message_delta` the
 * output tokens so far (cumulative, and the input side too in current API versions); the last
 * of each wins.
 */
function streamMeter(req: MeterRequest, prices: PriceTable): Metering {
  const usage: Obj = {};
  let model: unknown = req.body?.model;
  let sawDelta = false;
  const watcher = new SseWatcher([Buffer.from('"message_start"'), Buffer.from('"message_delta"')], (d) => {
    const fromStart = d.type === 'message_start';
    const u = obj(fromStart ? obj(d.message).usage : d.usage);
    if (fromStart) model = obj(d.message).model ?? model;
    else sawDelta = true;
    for (const [k, v] of Object.entries(u)) if (typeof v === 'number') usage[k] = v;
  });
  return {
    tap: watcher.push,
    cost(res) {
      if (!ok(res.status)) return 0;
      watcher.end();
      return sawDelta ? anthropicUsd(prices, usage, model) : null;
    },
  };
}

/** What an Anthropic call costs: Messages by token usage; counting tokens and reads are free; batches accrue later (unknown). */
export function anthropicMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method !== 'POST' || req.path === '/v1/messages/count_tokens') return notCharged;
  if (req.path !== '/v1/messages') return unknownCost;
  if (req.body?.stream === true) return streamMeter(req, prices);
  return {
    cost(res) {
      if (!ok(res.status)) return 0;
      const body = jsonBody(res);
      return body ? anthropicUsd(prices, obj(body.usage), body.model ?? req.body?.model) : null;
    },
  };
}
