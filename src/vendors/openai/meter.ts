import {
  formField,
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
import { chatStreamMeter } from './stream-usage.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' ? (v as Obj) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Token usage of any OpenAI answer (chat, completions, responses, embeddings, images) times the model's prices. */
export function usageUsd(prices: PriceTable, usage: unknown, model: string | undefined): number | null {
  const price = modelPrice(prices, model);
  if (!price || !usage || typeof usage !== 'object') return null;
  const u = usage as Obj;
  const inDetails = obj(u.prompt_tokens_details ?? u.input_tokens_details);
  const cached = num(inDetails.cached_tokens);
  const images = num(inDetails.image_tokens);
  const input = num(u.prompt_tokens ?? u.input_tokens) - cached - images;
  return tokenUsd(price, {
    input,
    cachedInput: cached,
    imageInput: images,
    output: num(u.completion_tokens ?? u.output_tokens),
  });
}

/** Usage and model from a JSON answer, whole or (when it was too large to keep) from its tail. */
function answerUsage(res: MeterResponse, tail: () => Buffer): { usage: unknown; model: string | undefined } {
  const whole = jsonBody(res);
  if (whole) return { usage: whole.usage, model: str(whole.model) };
  if (!res.truncated) return { usage: undefined, model: undefined };
  const text = tail().toString('utf8');
  const models = [...text.matchAll(/"model"\s*:\s*"([^"]+)"/g)];
  return { usage: lastObjectAfter(text, 'usage'), model: models.at(-1)?.[1] };
}

/** A JSON answer with `usage` (embeddings, non-streamed chat and responses). */
function jsonUsageMeter(req: MeterRequest, prices: PriceTable): Metering {
  const keeper = tailKeeper();
  return {
    tap: keeper.tap,
    cost(res) {
      if (!ok(res.status)) return 0;
      const { usage, model } = answerUsage(res, keeper.tail);
      return usageUsd(prices, usage, model ?? str(req.body?.model));
    },
  };
}

/** Responses API: a stream's usage is in `response.completed` (or `.incomplete`/`.failed`). */
function responsesMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.body?.stream !== true) return jsonUsageMeter(req, prices);
  let last: Obj | undefined;
  const marks = ['"response.completed"', '"response.incomplete"', '"response.failed"'].map((m) => Buffer.from(m));
  const watcher = new SseWatcher(marks, (d) => (last = obj(d.response)));
  return {
    tap: watcher.push,
    cost(res) {
      if (!ok(res.status)) return 0;
      watcher.end();
      return last ? usageUsd(prices, last.usage, str(last.model) ?? str(req.body?.model)) : null;
    },
  };
}

/** DALL·E by image count, size and quality (from the request); GPT Image by the answer's token usage. */
function imagesMeter(req: MeterRequest, prices: PriceTable): Metering {
  const model = str(req.body?.model) ?? formField(req.raw, 'model') ?? 'dall-e-2';
  const price = modelPrice(prices, model);
  if (!price?.per_image) return jsonUsageMeter({ ...req, body: { ...req.body, model } }, prices);
  const field = (name: string) => str(req.body?.[name]) ?? formField(req.raw, name);
  const size = field('size') ?? '1024x1024';
  const each = price.per_image[`${field('quality') ?? 'standard'}/${size}`] ?? price.per_image[size];
  const n = Number(field('n') ?? 1);
  return { cost: (res) => (!ok(res.status) ? 0 : each === undefined || !Number.isFinite(n) ? null : each * n) };
}

/** Transcription: tokens when the answer has them, else its duration by the minute. */
function transcriptionMeter(req: MeterRequest, prices: PriceTable): Metering {
  const model = formField(req.raw, 'model');
  return {
    cost(res) {
      if (!ok(res.status)) return 0;
      const body = jsonBody(res);
      const price = modelPrice(prices, model);
      const usage = obj(body?.usage);
      if (!body || !price) return null;
      if (usage.type === 'tokens') return usageUsd(prices, usage, model);
      const seconds = usage.type === 'duration' ? num(usage.seconds) : num(body.duration);
      return seconds > 0 && price.per_minute !== undefined ? (seconds / 60) * price.per_minute : null;
    },
  };
}

/** Text to speech: characters of input for the per-character models; others return no usage. */
function speechMeter(req: MeterRequest, prices: PriceTable): Metering {
  const price = modelPrice(prices, str(req.body?.model));
  const input = str(req.body?.input);
  return {
    cost: (res) =>
      !ok(res.status)
        ? 0
        : price?.per_mchar !== undefined && input !== undefined
          ? (input.length * price.per_mchar) / 1e6
          : null,
  };
}

type Route = (req: MeterRequest, prices: PriceTable) => Metering;
const ROUTES: Array<[RegExp, Route]> = [
  [
    /^\/v1\/(chat\/)?completions$/,
    (req, prices) => (req.body?.stream === true ? chatStreamMeter(req, prices, usageUsd) : jsonUsageMeter(req, prices)),
  ],
  [/^\/v1\/responses$/, responsesMeter],
  [/^\/v1\/embeddings$/, jsonUsageMeter],
  [/^\/v1\/images\/(generations|edits|variations)$/, imagesMeter],
  [/^\/v1\/audio\/(transcriptions|translations)$/, transcriptionMeter],
  [/^\/v1\/audio\/speech$/, speechMeter],
  [/^\/v1\/moderations$/, () => notCharged],
];

/**
 * What an OpenAI call costs. Reads and deletes are free; the metered endpoints are priced from
 * their usage; any other POST (batches, fine-tuning, assistants) is of unknown cost here.
 */
export function openaiMeter(req: MeterRequest, prices: PriceTable): Metering {
  if (req.method !== 'POST') return notCharged;
  const route = ROUTES.find(([re]) => re.test(req.path));
  return route ? route[1](req, prices) : unknownCost;
}
