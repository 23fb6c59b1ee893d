import { jsonBody, ok, simpleMeter, type MeterResponse } from '../shared/meter.js';
import { modelPrice, tokenUsd, type PriceTable } from '../shared/prices.js';
import { tourniquetDialect } from '../shared/refusal.js';
import type { ProxyFacts } from '../module.js';

function tokenCost(prices: PriceTable, usage: unknown, model: string | undefined): number | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as { prompt_tokens?: number; completion_tokens?: number; input_tokens?: number; output_tokens?: number };
  const price = modelPrice(prices, model);
  if (!price) return null;
  return tokenUsd(price, { input: u.prompt_tokens ?? u.input_tokens ?? 0, output: u.completion_tokens ?? u.output_tokens ?? 0 });
}

function streamCost(prices: PriceTable, res: MeterResponse): number | null {
  let found: number | null = null;
  for (const line of res.body.toString('utf8').split('\n')) {
    if (!line.startsWith('data: {') || !line.includes('"usage"')) continue;
    try {
      const ev = JSON.parse(line.slice(6)) as { usage?: unknown; model?: string };
      const c = tokenCost(prices, ev.usage, ev.model);
      if (c !== null) found = c;
    } catch {
      // A cut-off event: nothing to count.
    }
  }
  return found;
}

/** Token usage times the price table; for a stream, the chunk that carries `usage`. */
const meter = (prices: PriceTable) =>
  simpleMeter((_req, res) => {
    if (!ok(res.status)) return null;
    if (res.contentType.includes('text/event-stream')) return streamCost(prices, res);
    const obj = jsonBody(res);
    return obj ? tokenCost(prices, obj.usage, typeof obj.model === 'string' ? obj.model : undefined) : null;
  });

export const openaiProxy: ProxyFacts = {
  baseUrl: 'https://api.openai.com',
  key: { kind: 'bearer' },
  vaultKeyIn: ['bearer'],
  customerIdPaths: ['body.user', 'body.safety_identifier', 'header.x-customer-id'],
  meter: (req, prices) => meter(prices)(req),
  refusal: tourniquetDialect,
};
