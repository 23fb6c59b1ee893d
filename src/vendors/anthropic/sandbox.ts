import type { ServerResponse } from 'node:http';
// Types only (erased from the build): @anthropic-ai/sdk's types are this fake's contract.
import type Anthropic from '@anthropic-ai/sdk';
import type { SandboxVendor, SandboxVendorOptions } from '../module.js';
import { Keyring, token } from '../../sandbox/keyring.js';
import {
  closeServer,
  bearerAuth,
  noFaults,
  serveRoutes,
  sroute,
  type Reply,
  type SandboxRequest,
} from '../../sandbox/http.js';
import { anthropicTail } from './facts.js';

/**
 * Anthropic, as documented (and as @anthropic-ai/sdk's types describe it): the Messages API,
 * streamed (`message_start` … `message_delta` with the usage … `message_stop`) and not, and
 * the model list. Keys go in `x-api-key` (or a Bearer token); every request names its
 * `anthropic-version`.
 */
export type AnthropicSandbox = SandboxVendor;

const err = (status: number, type: string, message: string): Reply => ({
  status,
  body: { type: 'error', error: { type, message } },
});
const textOf = (v: unknown): string => (typeof v === 'string' ? v : '');
const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function promptOf(messages: unknown[]): string {
  return messages
    .map((m) => {
      const c = (m as { content?: unknown }).content;
      return typeof c === 'string'
        ? c
        : Array.isArray(c)
          ? c.map((b) => textOf((b as { text?: unknown }).text)).join(' ')
          : '';
    })
    .join(' ');
}

function usageOf(input: number, output: number): Anthropic.Usage {
  return {
    input_tokens: input,
    output_tokens: output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
    cache_creation: null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
    output_tokens_details: null,
    speed: null,
  };
}

async function stream(res: ServerResponse, msg: Anthropic.Message, delayMs: number): Promise<Reply> {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'request-id': `req_${token(24)}`,
  });
  const send = (event: Anthropic.RawMessageStreamEvent | { type: 'ping' }) =>
    res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  const text = msg.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
  send({
    type: 'message_start',
    message: { ...msg, content: [], stop_reason: null, usage: { ...msg.usage, output_tokens: 1 } },
  });
  send({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '', citations: null } });
  send({ type: 'ping' });
  for (const word of text.split(/(?<= )/)) {
    if (res.destroyed) return 'stream-handled';
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    send({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: word } });
  }
  send({ type: 'content_block_stop', index: 0 });
  const u = msg.usage;
  send({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null, container: null, stop_details: null },
    usage: {
      output_tokens: u.output_tokens,
      input_tokens: u.input_tokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      server_tool_use: null,
      output_tokens_details: null,
    },
  });
  send({ type: 'message_stop' });
  res.end();
  return 'stream-handled';
}

export async function startAnthropicSandbox(opts: SandboxVendorOptions = {}): Promise<AnthropicSandbox> {
  const keys = new Keyring('anthropic', anthropicTail, opts);

  function authed(handler: (r: SandboxRequest, res: ServerResponse) => Reply | Promise<Reply>) {
    return (r: SandboxRequest, res: ServerResponse) => {
      const given = r.headers['x-api-key'] ?? bearerAuth(r.headers);
      if (typeof given !== 'string' || !given) return err(401, 'authentication_error', 'x-api-key header is required');
      if (!keys.accept(given)) return err(401, 'authentication_error', 'invalid x-api-key');
      if (!r.headers['anthropic-version'])
        return err(400, 'invalid_request_error', 'anthropic-version: header is required');
      return handler(r, res);
    };
  }

  async function messages(r: SandboxRequest, res: ServerResponse): Promise<Reply> {
    const b = r.body;
    if (typeof b.model !== 'string') return err(400, 'invalid_request_error', 'model: Field required');
    if (typeof b.max_tokens !== 'number') return err(400, 'invalid_request_error', 'max_tokens: Field required');
    if (!Array.isArray(b.messages) || b.messages.length === 0)
      return err(400, 'invalid_request_error', 'messages: Field required');
    const prompt = promptOf(b.messages);
    const text = `Sandbox reply to: ${prompt.slice(0, 60)}`;
    const msg: Anthropic.Message = {
      id: `msg_${token(24)}`,
      type: 'message',
      role: 'assistant',
      model: b.model,
      content: [{ type: 'text', text, citations: null }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
      usage: usageOf(tokensOf(prompt), tokensOf(text)),
    };
    if (b.stream === true) return stream(res, msg, opts.streamDelayMs ?? 0);
    return { status: 200, body: msg, headers: { 'request-id': `req_${token(24)}` } };
  }

  const models: Anthropic.ModelInfo[] = [
    {
      type: 'model',
      id: 'claude-sonnet-4-5-20250929',
      display_name: 'Claude Sonnet 4.5',
      created_at: '2025-09-29T00:00:00Z',
      capabilities: null,
      deprecated_at: null,
      lifecycle: 'active',
      line: null,
      max_input_tokens: 200_000,
      max_tokens: 64_000,
      retires_at: null,
    },
  ];
  const routes = [
    sroute('POST', '/v1/messages', authed(messages)),
    sroute(
      'POST',
      '/v1/messages/count_tokens',
      authed((r) => ({
        status: 200,
        body: { input_tokens: tokensOf(promptOf((r.body.messages as unknown[]) ?? [])) },
      })),
    ),
    sroute(
      'GET',
      '/v1/models',
      authed(() => ({
        status: 200,
        body: { data: models, has_more: false, first_id: models[0]!.id, last_id: models[0]!.id },
      })),
    ),
  ];
  const faults = noFaults();
  const { server, url } = await serveRoutes(routes, {
    latencyMs: opts.latencyMs,
    faults,
    notFound: () => err(404, 'not_found_error', 'Not found'),
    badBody: () => err(400, 'invalid_request_error', 'There was an issue with the request body: invalid JSON'),
  });
  const createKey = (name = 'default') => {
    const secret = `sk-ant-api03-${token(86)}`;
    const id = `apikey_${token(24)}`;
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
