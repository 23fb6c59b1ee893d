import type { ServerResponse } from 'node:http';
import { token } from '../../sandbox/keyring.js';
import { nowSec, type Reply, type SandboxRequest } from '../../sandbox/http.js';

/**
 * The OpenAI model endpoints the sandbox answers, shaped as openai.yaml says: chat completions
 * (streamed: usage only with `stream_options.include_usage`, then `"usage":null` in every other
 * chunk), the Responses API (streamed: usage in `response.completed`) and embeddings.
 */
export type ErrorReply = (
  status: number,
  message: string,
  type: string,
  code: string | null,
  param?: string | null,
) => Reply;

/** OpenAI's answer to a request without a required parameter. */
const missing = (err: ErrorReply, param: string): Reply =>
  err(400, `Missing required parameter: '${param}'.`, 'invalid_request_error', 'missing_required_parameter', param);
const tokensOf = (text: string) => Math.max(1, Math.ceil(text.length / 4));
const pause = (ms: number | undefined) => (ms ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) return c.map((p) => contentText((p as { text?: unknown }).text)).join(' ');
  return '';
}

export async function chat(r: SandboxRequest, res: ServerResponse, err: ErrorReply, delayMs?: number): Promise<Reply> {
  const messages = r.body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return missing(err, 'messages');
  const model = typeof r.body.model === 'string' ? r.body.model : '';
  if (!model) return missing(err, 'model');
  const prompt = messages.map((m) => contentText((m as { content?: unknown }).content)).join(' ');
  const reply = `Sandbox reply to: ${prompt.slice(0, 60)}`;
  const usage = {
    prompt_tokens: tokensOf(prompt),
    completion_tokens: tokensOf(reply),
    total_tokens: tokensOf(prompt) + tokensOf(reply),
  };
  const base = { id: `chatcmpl-${token(24)}`, created: nowSec(), model };
  if (r.body.stream !== true) {
    const choice = {
      index: 0,
      message: { role: 'assistant', content: reply, refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    };
    return {
      status: 200,
      body: { ...base, object: 'chat.completion', choices: [choice], usage },
      headers: { 'x-request-id': `req_${token(16)}` },
    };
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    'x-request-id': `req_${token(16)}`,
  });
  const includeUsage = (r.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
  // With include_usage on, OpenAI puts `"usage":null` in every chunk but the last.
  const send = (choices: unknown[], u?: unknown) =>
    res.write(
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...(includeUsage ? { usage: u ?? null } : {}) })}\n\n`,
    );
  send([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  for (const word of reply.split(/(?<= )/)) {
    if (res.destroyed) return 'stream-handled';
    await pause(delayMs);
    send([{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }]);
  }
  send([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  if (includeUsage) send([], usage);
  res.end('data: [DONE]\n\n');
  return 'stream-handled';
}

function inputText(input: unknown): string {
  if (typeof input === 'string') return input;
  if (Array.isArray(input)) return input.map((i) => contentText((i as { content?: unknown }).content)).join(' ');
  return '';
}

/** A Response object with every field openai.yaml requires. */
function responseObject(model: string, text: string | null, usage: Record<string, unknown> | null, status: string) {
  const id = `resp_${token(32)}`;
  const output =
    text === null
      ? []
      : [
          {
            type: 'message',
            id: `msg_${token(32)}`,
            status: 'completed',
            role: 'assistant',
            content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
          },
        ];
  return {
    id,
    object: 'response',
    created_at: nowSec(),
    status,
    error: null,
    incomplete_details: null,
    instructions: null,
    model,
    output,
    parallel_tool_calls: true,
    metadata: {},
    tool_choice: 'auto',
    tools: [],
    temperature: 1,
    top_p: 1,
    // An unfinished response has no usage yet: the field is left out (the document does not allow null).
    ...(usage ? { usage } : {}),
  };
}

export async function responses(
  r: SandboxRequest,
  res: ServerResponse,
  err: ErrorReply,
  delayMs?: number,
): Promise<Reply> {
  const model = typeof r.body.model === 'string' ? r.body.model : '';
  if (!model) return missing(err, 'model');
  const prompt = inputText(r.body.input);
  const text = `Sandbox reply to: ${prompt.slice(0, 60)}`;
  const usage = {
    input_tokens: tokensOf(prompt),
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens: tokensOf(text),
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: tokensOf(prompt) + tokensOf(text),
  };
  const done = responseObject(model, text, usage, 'completed');
  if (r.body.stream !== true) return { status: 200, body: done };
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let seq = 0;
  const send = (type: string, data: Record<string, unknown>) =>
    res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const item = (done.output[0] as { id: string }).id;
  send('response.created', { response: { ...responseObject(model, null, null, 'in_progress'), id: done.id } });
  for (const delta of text.split(/(?<= )/)) {
    if (res.destroyed) return 'stream-handled';
    await pause(delayMs);
    send('response.output_text.delta', { item_id: item, output_index: 0, content_index: 0, delta, logprobs: [] });
  }
  send('response.output_text.done', { item_id: item, output_index: 0, content_index: 0, text, logprobs: [] });
  send('response.completed', { response: done });
  res.end();
  return 'stream-handled';
}

export function embeddings(r: SandboxRequest, err: ErrorReply): Reply {
  const model = typeof r.body.model === 'string' ? r.body.model : '';
  const input = typeof r.body.input === 'string' ? [r.body.input] : r.body.input;
  if (!model) return missing(err, 'model');
  if (!Array.isArray(input) || input.length === 0) return missing(err, 'input');
  const tokens = input.reduce<number>((n, t) => n + tokensOf(String(t)), 0);
  const data = input.map((t, index) => ({
    object: 'embedding',
    index,
    embedding: Array.from({ length: 8 }, (_, i) => ((String(t).charCodeAt(i % String(t).length || 0) || 1) % 97) / 97),
  }));
  return { status: 200, body: { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } } };
}
