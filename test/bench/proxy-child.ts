// Child processes for test/bench/proxy.mjs (bundled by it with esbuild). One role per process,
// so the load generator, the proxy and the vendor never share an event loop.
//   proxy    the tourniquet proxy (startProxy), config from BENCH_CFG
//   bare     a bare pass-through proxy: same undici forwarding, no policy, no audit, no log
//   sandbox  the sandbox vendors
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

async function bare(upstream: string): Promise<void> {
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
  ready({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
}

if (role === 'proxy') {
  const p = await startProxy({ ...cfg, listen: '127.0.0.1:0', adminListen: '127.0.0.1:0' } as never);
  ready({ dataUrl: p.dataUrl, adminUrl: p.adminUrl });
  process.on('SIGTERM', () => void p.stop().then(() => process.exit(0)));
} else if (role === 'bare') {
  await bare(cfg.upstream);
} else if (role === 'sandbox') {
  const s = await startSandbox({ timeScale: 0.001, latencyMs: cfg.latencyMs ?? 0 });
  ready({ urls: s.urls, keys: s.keys });
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
