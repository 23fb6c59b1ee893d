import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Socket } from 'node:net';
import { startHarness, through, type Harness } from './helpers.js';
import { until } from './faults.js';

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

/** A connection that sends a request's headers one byte every `everyMs`; resolves how it ended. */
function trickle(
  url: string,
  everyMs: number,
): { closedByServer: Promise<{ bytesSent: number; total: number; answer: string }>; socket: Socket } {
  const head = Buffer.from(
    `GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer vk_trickle_${'x'.repeat(40)}\r\n\r\n`,
  );
  const socket = connect(hostPort(url));
  let sent = 0;
  let answer = '';
  const timer = setInterval(() => {
    if (sent < head.length && !socket.destroyed) socket.write(head.subarray(sent, ++sent));
  }, everyMs);
  socket.on('data', (d: Buffer) => (answer += d.toString()));
  socket.on('error', () => {});
  const closedByServer = new Promise<{ bytesSent: number; total: number; answer: string }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ bytesSent: sent, total: head.length, answer });
    }),
  );
  return { closedByServer, socket };
}

describe('slow and idle clients on the data plane', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ proxy: { dataPlane: { headersTimeoutMs: 1_000, maxIdleConnections: 5 } } });
  });
  afterAll(async () => h?.stop());

  it('headers trickled slower than the header deadline: cut before they complete, and the proxy keeps serving', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    // Given 50 connections sending their headers one byte every 100 ms (about 9 s to complete)
    const slow = Array.from({ length: 50 }, () => trickle(h.proxy.dataUrl, 100));
    // Then each is closed by the proxy (408) long before its headers are complete
    const ends = await Promise.all(slow.map((s) => s.closedByServer));
    for (const e of ends) {
      expect(e.bytesSent).toBeLessThan(e.total);
      expect(e.answer).toMatch(/^HTTP\/1\.1 408|^$/);
    }
    // and agents were served all along
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
  }, 30_000);

  it('idle keep-alive connections past the cap: the longest idle are closed', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    // Given 12 connections that each made one call and stay open (keep-alive)
    const sockets = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const s = connect(hostPort(h.proxy.dataUrl));
        let closed = false;
        s.on('close', () => (closed = true));
        s.on('error', () => {});
        let got = '';
        s.on('data', (d: Buffer) => (got += d.toString()));
        s.write(`GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${vk.secret}\r\n\r\n`);
        await until('answered', () => got.includes('\r\n\r\n'));
        return { isClosed: () => closed };
      }),
    );
    // Then no more than the cap (5) are kept idle
    await until('idle connections trimmed to the cap', () => sockets.filter((s) => !s.isClosed()).length <= 5);
    expect(sockets.filter((s) => s.isClosed()).length).toBeGreaterThanOrEqual(7);
  });
});
