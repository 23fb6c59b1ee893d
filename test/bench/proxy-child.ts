// Child processes for test/bench/proxy.mjs (bundled by it with esbuild). One role per process,
// so the load generator, the proxy and the vendor never share an event loop.
//   proxy    the tourniquet proxy (startProxy), config from BENCH_CFG
//   bare     a bare pass-through proxy: same undici forwarding, no policy, no audit, no log
//   bare2    the same in two processes sharing one port (node:cluster): what a second worker
//            process could add on this machine at best
//   proxy2   tourniquet in two processes on one port and one SQLite file, NOT coordinated (a
//            revoke reaches only the worker that took it): not a product mode, the upper bound of
//            what `--workers` with SQLite could reach here, with none of the cross-process work
//            its revoke guarantees would add. The vault key is made before the workers start.
//   sandbox  the sandbox vendors
//   openai   a minimal OpenAI-shaped upstream: POST /v1/chat/completions answered with a canned
//            completion (usage included), as fast as Node serves it, so it is never the bottleneck
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request, type Dispatcher } from 'undici';
import { startProxy } from '../../src/proxy/index.js';
import { startSandbox } from '../../src/sandbox/index.js';

const role = process.argv[2];
const cfg = JSON.parse(process.env.BENCH_CFG ?? '{}') as Record<string, any>;
const ready = (obj: unknown) => process.stdout.write(JSON.stringify(obj) + '\n');

const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

async function bare(upstream: string): Promise<string> {
  const dispatcher = new Agent({ connect: { timeout: 5_000 }, keepAliveTimeout: 30_000, connections: 512 });
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined && !HOP.has(k) && k !== 'content-length') headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    request(upstream + (req.url ?? '/'), {
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : undefined,
      dispatcher,
      headersTimeout: 60_000,
    })
      .then(async (up) => {
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
        res.writeHead(up.statusCode, out);
        for await (const chunk of up.body) res.write(chunk);
        res.end();
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Two bare workers on one port (in a cluster, listen(0) gives every worker the same port; the primary deals connections). */
async function bare2(upstream: string): Promise<void> {
  if (cluster.isWorker) return void process.send!({ url: await bare(upstream) });
  const start = () =>
    new Promise<string>((resolve) => cluster.fork().once('message', (m: { url: string }) => resolve(m.url)));
  const [url] = await Promise.all([start(), start()]);
  ready({ url });
}

/** See `proxy2` above: the primary makes the vault key in the file, then starts two workers that read it. */
async function proxy2(): Promise<void> {
  const listen = { listen: '127.0.0.1:0', adminListen: '127.0.0.1:0' };
  if (cluster.isWorker) {
    const p = await startProxy({ ...cfg, ...listen });
    return void process.send!({ dataUrl: p.dataUrl });
  }
  const first = await startProxy({ ...cfg, ...listen });
  const made = await request(`${first.adminUrl}/v1/vault-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cfg.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ vendor: 'openai', agent_run_id: 'bench_shared_file' }),
  });
  const { secret } = (await made.body.json()) as { secret: string };
  await first.stop();
  const start = () =>
    new Promise<string>((resolve) => cluster.fork().once('message', (m: { dataUrl: string }) => resolve(m.dataUrl)));
  const [dataUrl] = await Promise.all([start(), start()]);
  ready({ dataUrl, secret });
}

/**
 * BENCH_HEAP_PROFILE=FILE (test/bench/_proxy-profile.mjs passes it on): every allocation the proxy
 * makes, sampled, kept even once collected (what the garbage collector's work comes from; Node's
 * --heap-prof keeps only what is still alive), written to FILE as a .heapprofile at SIGTERM.
 */
async function allocationProfile(file: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 4096,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(file, JSON.stringify(profile));
  };
}

/** The canned answer: a chat completion as OpenAI returns it (about 600 bytes, usage included). */
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

async function openaiUpstream(): Promise<void> {
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ready({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

if (role === 'proxy') {
  const p = await startProxy({ ...cfg, listen: '127.0.0.1:0', adminListen: '127.0.0.1:0' });
  const heap = process.env.BENCH_HEAP_PROFILE ? await allocationProfile(process.env.BENCH_HEAP_PROFILE) : null;
  ready({ dataUrl: p.dataUrl, adminUrl: p.adminUrl });
  process.on('SIGTERM', () => void p.stop().then(async () => (await heap?.(), process.exit(0))));
} else if (role === 'proxy2') {
  await proxy2();
} else if (role === 'bare') {
  ready({ url: await bare(cfg.upstream) });
} else if (role === 'bare2') {
  await bare2(cfg.upstream);
} else if (role === 'openai') {
  await openaiUpstream();
} else if (role === 'sandbox') {
  const s = await startSandbox({ timeScale: 0.001, latencyMs: cfg.latencyMs ?? 0 });
  ready({ urls: s.urls, keys: s.keys });
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
