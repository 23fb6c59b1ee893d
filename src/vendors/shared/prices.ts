/**
 * A vendor's price table: list prices in USD with the date they were read and where, so a
 * reader knows how old a figure is. The proxy config may override any of it
 * (`vendors.<id>.prices` in the proxy's config file), e.g. for a negotiated contract.
 */
export interface ModelPrice {
  /** USD per million input tokens. */
  input?: number;
  /** USD per million output tokens (thinking tokens are billed as output). */
  output?: number;
  /** USD per million input tokens read from the vendor's prompt cache. */
  cached_input?: number;
  /** USD per million input tokens written to the prompt cache (Anthropic). */
  cache_write?: number;
  /** USD per million image input tokens (OpenAI image models); default: `input`. */
  image_input?: number;
  /** Above this many prompt tokens, the `above` prices apply to the whole call (Gemini 2.5 Pro). */
  tier_tokens?: number;
  above?: { input: number; output: number };
  /** USD per image, by `size` or `quality/size` (DALL·E). */
  per_image?: Record<string, number>;
  /** USD per minute of audio (transcription). */
  per_minute?: number;
  /** USD per million characters of input text (text to speech). */
  per_mchar?: number;
}

export interface PriceTable {
  /** ISO date the figures were read. */
  as_of: string;
  /** Where they were read. */
  source: string;
  /** By model name prefix; the longest matching prefix wins. */
  models: Record<string, ModelPrice>;
  /** Other per-unit figures (per email, per SMS segment). */
  units: Record<string, number>;
}

/** The price of a model by the longest matching prefix; undefined for a model not in the table. */
export function modelPrice(table: PriceTable, model: string | undefined): ModelPrice | undefined {
  if (!model) return undefined;
  let best: string | undefined;
  for (const p of Object.keys(table.models)) if (model.startsWith(p) && (!best || p.length > best.length)) best = p;
  return best === undefined ? undefined : table.models[best];
}

/** The config's override merged over the built-in table (models and units by name). */
export function mergePrices(base: PriceTable, override: Partial<PriceTable> | undefined): PriceTable {
  if (!override) return base;
  return {
    as_of: override.as_of ?? base.as_of,
    source: override.source ?? base.source,
    models: { ...base.models, ...override.models },
    units: { ...base.units, ...override.units },
  };
}

/** Token counts times a model's prices, in USD; null when a count is billed but has no price. */
export function tokenUsd(
  price: ModelPrice,
  t: { input: number; output: number; cachedInput?: number; cacheWrite?: number; imageInput?: number },
): number | null {
  const tiered = price.above && price.tier_tokens !== undefined && t.input + (t.cachedInput ?? 0) > price.tier_tokens;
  const inRate = tiered ? price.above!.input : price.input;
  const outRate = tiered ? price.above!.output : price.output;
  if ((t.input > 0 && inRate === undefined) || (t.output > 0 && outRate === undefined)) return null;
  const cached = (t.cachedInput ?? 0) * (price.cached_input ?? inRate ?? 0);
  const written = (t.cacheWrite ?? 0) * (price.cache_write ?? inRate ?? 0);
  const images = (t.imageInput ?? 0) * (price.image_input ?? inRate ?? 0);
  return (t.input * (inRate ?? 0) + t.output * (outRate ?? 0) + cached + written + images) / 1e6;
}
