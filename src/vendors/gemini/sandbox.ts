import type { ServerResponse } from 'node:http';
// Types only (erased from the build): @google/genai's types are this fake's contract.
import type { FinishReason, GenerateContentResponse, GenerateContentResponseUsageMetadata, Model } from '@google/genai';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, token } from '../../sandbox/keyring.js';
import { closeServer, noFaults, serveRoutes, sroute, type Reply, type SandboxRequest } from '../../sandbox/http.js';
import { geminiTail } from './facts.js';

/**
 * Google's Gemini API, as documented (and as @google/genai's types describe it):
 * `models/{model}:generateContent`, `:streamGenerateContent` (`?alt=sse`: one JSON chunk per
 * event, each with the usage so far; without it, a JSON array), `:countTokens` and the model
 * list. The key goes in `x-goog-api-key` or `?key=`; errors are google.rpc.Status objects.
 */
export type GeminiSandbox = SandboxVendor;

const STATUS: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' };
const err = (code: number, message: string, reason?: string): Reply => ({
  status: code,
  body: {
    error: {
      code,
      message,
      status: STATUS[code] ?? 'INTERNAL',
      ...(reason
        ? { details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason, domain: 'googleapis.com' }] }
        : {}),
    },
  },
});
const textOf = (v: unknown): string => (typeof v === 'string' ? v : '');
const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function promptOf(body: Record<string, unknown>): string {
  const contents = Array.isArray(body.contents) ? body.contents : [];
  return contents
    .flatMap((c) => ((c as { parts?: unknown[] }).parts ?? []).map((p) => textOf((p as { text?: unknown }).text)))
    .join(' ');
}

/** The JSON fields of a GenerateContentResponse (the SDK's class adds getters over them). */
type GenerateContentJson = Pick<
  GenerateContentResponse,
  'candidates' | 'usageMetadata' | 'modelVersion' | 'responseId'
>;

function chunk(
  model: string,
  text: string,
  usage: GenerateContentResponseUsageMetadata,
  last: boolean,
): GenerateContentJson {
  return {
    candidates: [
      {
        content: { parts: [{ text }], role: 'model' },
        index: 0,
        ...(last ? { finishReason: 'STOP' as FinishReason } : {}),
      },
    ],
    usageMetadata: usage,
    modelVersion: model,
    responseId: token(20),
  };
}

export async function startGeminiSandbox(opts: SandboxVendorOptions = {}): Promise<GeminiSandbox> {
  const keys = new Keyring('gemini', geminiTail, opts);

  function authed(handler: (r: SandboxRequest, res: ServerResponse) => Reply | Promise<Reply>) {
    return (r: SandboxRequest, res: ServerResponse) => {
      const given = r.headers['x-goog-api-key'] ?? r.query.get('key');
      if (typeof given !== 'string' || !given)
        return err(
          403,
          "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        );
      if (!keys.accept(given)) return err(400, 'API key not valid. Please pass a valid API key.', 'API_KEY_INVALID');
      return handler(r, res);
    };
  }

  async function generate(r: SandboxRequest, res: ServerResponse, streamed: boolean): Promise<Reply> {
    const model = r.params[0]!;
    if (!Array.isArray(r.body.contents) || r.body.contents.length === 0)
      return err(400, '* GenerateContentRequest.contents: contents is not specified');
    const prompt = promptOf(r.body);
    const text = `Sandbox reply to: ${prompt.slice(0, 60)}`;
    const words = text.split(/(?<= )/);
    const promptTokens = tokensOf(prompt);
    const usageAt = (i: number) => {
      const out = tokensOf(words.slice(0, i + 1).join(''));
      return { promptTokenCount: promptTokens, candidatesTokenCount: out, totalTokenCount: promptTokens + out };
    };
    if (!streamed) return { status: 200, body: chunk(model, text, usageAt(words.length - 1), true) };
    const sse = r.query.get('alt') === 'sse';
    res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json' });
    if (!sse) res.write('[');
    for (const [i, word] of words.entries()) {
      if (res.destroyed) return 'stream-handled';
      if (opts.streamDelayMs) await new Promise((resolve) => setTimeout(resolve, opts.streamDelayMs));
      const c = JSON.stringify(chunk(model, word, usageAt(i), i === words.length - 1));
      res.write(sse ? `data: ${c}\r\n\r\n` : `${i ? ',\r\n' : ''}${c}`);
    }
    res.end(sse ? '' : ']');
    return 'stream-handled';
  }

  // The REST field is supportedGenerationMethods; the SDK renames it supportedActions when it reads the list.
  const models: Array<Pick<Model, 'name' | 'displayName'> & { supportedGenerationMethods: string[] }> = [
    {
      name: 'models/gemini-2.5-flash',
      displayName: 'Gemini 2.5 Flash',
      supportedGenerationMethods: ['generateContent', 'countTokens'],
    },
  ];
  const M = '/v1beta/models/{model}';
  const routes = [
    sroute(
      'POST',
      `${M}:generateContent`,
      authed((r, res) => generate(r, res, false)),
    ),
    sroute(
      'POST',
      `${M}:streamGenerateContent`,
      authed((r, res) => generate(r, res, true)),
    ),
    sroute(
      'POST',
      `${M}:countTokens`,
      authed((r) => ({ status: 200, body: { totalTokens: tokensOf(promptOf(r.body)) } })),
    ),
    sroute(
      'GET',
      '/v1beta/models',
      authed(() => ({ status: 200, body: { models } })),
    ),
  ];
  const faults = noFaults();
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: (r) => err(404, `Method not found: ${r.method} ${r.path}`),
    badBody: () => err(400, 'Invalid JSON payload received.'),
  });
  const createKey = (name = 'default') => {
    const secret = `AIza${token(35)}`;
    const id = `key_${token(16)}`;
    keys.add(secret, id, name);
    return { id, secret };
  };
  return {
    url,
    keys,
    server,
    createKey,
    deleteKey: (k) => keys.delete(k),
    defaultKey: createKey('default'),
    faults,
    stop: () => closeServer(server),
  };
}
