import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { adminCall, ADMIN_TOKEN } from './helpers.js';
import { pollUntil } from '../helpers/poll.js';

// The forward reads the vendor's answer from undici's dispatcher itself (upstream.ts,
// UpstreamBody): an answer larger than the agent reads must pause the vendor's socket, not pile
// up in the proxy's memory, and must arrive byte for byte once the agent reads.
const SIZE = 48 * 1024 * 1024;
const CHUNK = 64 * 1024;

describe('a large answer to an agent that reads slowly', () => {
  let dir: string;
  let vendor: Server;
  let proxy: RunningProxy;
  const sent = { bytes: 0, blocked: false, hash: '' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tq-large-'));
    const payload = randomBytes(CHUNK);
    vendor = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': SIZE });
      const hash = createHash('sha256');
      const more = () => {
        while (sent.bytes < SIZE) {
          sent.bytes += CHUNK;
          hash.update(payload);
          if (sent.bytes === SIZE) sent.hash = hash.digest('hex');
          if (!res.write(payload)) {
            sent.blocked = true;
            return void res.once('drain', () => ((sent.blocked = false), more()));
          }
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((r) => vendor.listen(0, '127.0.0.1', r));
    proxy = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${join(dir, 'proxy.db')}`,
      adminToken: ADMIN_TOKEN,
      log: false,
      upstreams: { openai: `http://127.0.0.1:${(vendor.address() as AddressInfo).port}` },
      upstreamKeys: [{ vendor: 'openai', secret: 'sk-upstream-large-answer-0000', label: 'main', state: 'active' }],
    });
  });

  afterAll(async () => {
    await proxy?.stop();
    vendor?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the vendor is held back while the agent does not read, and every byte arrives once it does', async () => {
    const vk = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'openai' })).body;
    const answer = await new Promise<IncomingMessage>((resolve, reject) =>
      request(`${proxy.dataUrl}/v1/files/file-large/content`, { headers: { authorization: `Bearer ${vk.secret}` } })
        .on('response', resolve)
        .on('error', reject)
        .end(),
    );
    expect(answer.statusCode).toBe(200);
    answer.pause();
    // Nothing read yet: the vendor ends up waiting, its writes stopped, most of the answer unsent.
    // (Without backpressure the proxy would take all 48 MiB into memory and the vendor would finish.)
    let seen = -1;
    let since = performance.now();
    await pollUntil(
      'the vendor held back (or done)',
      () => {
        if (sent.bytes === SIZE) return true;
        if (sent.bytes !== seen || !sent.blocked) [seen, since] = [sent.bytes, performance.now()];
        return performance.now() - since > 1_000;
      },
      { timeoutMs: 30_000, everyMs: 50 },
    );
    expect(sent.bytes).toBeLessThan(SIZE / 2);
    const hash = createHash('sha256');
    let got = 0;
    for await (const chunk of answer as AsyncIterable<Buffer>) {
      hash.update(chunk);
      got += chunk.length;
    }
    expect(got).toBe(SIZE);
    expect(hash.digest('hex')).toBe(sent.hash);
  }, 60_000);
});
