// A minimal OpenAI-shaped upstream for test/bench/proxy-workers.mjs, in a process of its own:
// POST /v1/chat/completions answered with a canned completion (usage included), as fast as Node
// serves it, so it is never the bottleneck. Prints {"url": …} once listening.
import { createServer } from 'node:http';

const COMPLETION = JSON.stringify({
  id: 'chatcmpl-bench0000000000000000',
  object: 'chat.completion',
  created: 1764633600,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [
    {
      index: 0,
      message: { role: 'assistant', content: 'Hello! How can I help you today?', refusal: null },
      logprobs: null,
      finish_reason: 'stop',
    },
  ],
  usage: {
    prompt_tokens: 19,
    completion_tokens: 9,
    total_tokens: 28,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
  },
  service_tier: 'default',
  system_fingerprint: 'fp_bench',
});

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(COMPLETION),
      'x-request-id': 'req_bench',
      'openai-processing-ms': '1',
    });
    res.end(COMPLETION);
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` }) + '\n');
});
