import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request and its answer, as they crossed the wire. */
export interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  status: number;
  responseHeaders: IncomingHttpHeaders;
  response: Buffer;
}

export interface Recorder {
  url: string;
  exchanges: Exchange[];
  close(): Promise<void>;
}

/**
 * A loopback relay in front of a sandbox vendor: every request an adapter or an SDK makes, and
 * every answer the sandbox gives, is recorded unchanged, to be checked against the vendor's
 * document afterwards.
 */
export async function startRecorder(target: string): Promise<Recorder> {
  const exchanges: Exchange[] = [];
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const up = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          const out: Buffer[] = [];
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.on('data', (c: Buffer) => (out.push(c), res.write(c)));
          answer.on('end', () => {
            res.end();
            const u = new URL(req.url ?? '/', 'http://recorder.invalid');
            exchanges.push({
              method: req.method ?? 'GET',
              path: u.pathname,
              query: u.searchParams,
              headers: req.headers,
              body,
              status: answer.statusCode ?? 0,
              responseHeaders: answer.headers,
              response: Buffer.concat(out),
            });
          });
        },
      );
      up.on('error', () => res.destroy());
      up.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exchanges,
    close: () => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())),
  };
}
