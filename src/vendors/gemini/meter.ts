import {
  jsonBody,
  lastObjectAfter,
  notCharged,
  num,
  ok,
  tailKeeper,
  unknownCost,
  type MeterRequest,
  type MeterResponse,
  type Metering,
} from '../shared/meter.js';
import { modelPrice, tokenUsd, type PriceTable } from '../shared/prices.js';
import { SseWatcher } from '../shared/sse.js';

type Obj = Record<string, unknown>;
const GENERATE =
  /^\/v1(beta|alpha)?\/(?:models|tunedModels)\/([^/:]+):(generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents)$/;

/** `usageMetadata` times the model's prices: cached prompt tokens at the cache rate, thinking as output. */
export function geminiUsd(prices: PriceTable, usage: Obj | undefined, model: string): number | null {
  const price = modelPrice(prices, model);
  if (!price || !usage) return null;
  const cached = num(usage.cachedContentTokenCount);
  return tokenUsd(price, {
    input: num(usage.promptTokenCount) - cached,
    cachedInput: cached,
    output: num(usage.candidatesTokenCount) + num(usage.thoughtsTokenCount),
  });
}

/** The last usageMetadata of an answer: one JSON object, a JSON array of chunks (a stream without alt=sse), or its tail. */
function lastUsage(res: MeterResponse, tail: () => Buffer): Obj | undefined {
  const whole = jsonBody(res);
  if (whole) return whole.usageMetadata as Obj | undefined;
  if (!res.truncated) {
    try {
      const arr = JSON.parse(res.body.toString('utf8')) as unknown;
      if (Array.isArray(arr)) return (arr.at(-1) as Obj | undefined)?.usageMetadata as Obj | undefined;
    } catch {
      return undefined;
    }
  }
  return lastObjectAfter(tail().toString('utf8'), 'usageMetadata');
}

/**
 * What a Gemini call costs: generateContent by its usageMetadata (a stream's last chunk has the
 * totals); counting tokens and reads are free; embeddings carry no usage (unknown).
 */
export function geminiMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method !== 'POST') return notCharged;
  const m = GENERATE.exec(req.path);
  if (!m) return unknownCost;
  const [, , model, method] = m;
  if (method === 'countTokens') return notCharged;
  if (method !== 'generateContent' && method !== 'streamGenerateContent') return unknownCost;
  let last: Obj | undefined;
  // Every chunk carries the usage so far: only the last is read.
  const watcher = new SseWatcher(
    [Buffer.from('"usageMetadata"')],
    (d) => (last = d.usageMetadata as Obj | undefined),
    true,
  );
  const keeper = tailKeeper();
  return {
    tap: (chunk) => watcher.push(keeper.tap(chunk)),
    cost(res) {
      if (!ok(res.status)) return 0;
      if (res.contentType.includes('text/event-stream')) {
        watcher.end();
        return geminiUsd(prices, last, model!);
      }
      return geminiUsd(prices, lastUsage(res, keeper.tail), model!);
    },
  };
}
