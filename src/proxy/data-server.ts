import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface DataServerLimits {
  /** The request line and headers must arrive within this (default 10 s): a client trickling them is cut. */
  headersTimeoutMs?: number;
  /** The whole request (body included) must arrive within this (default 30 s). */
  requestTimeoutMs?: number;
  /** An idle keep-alive connection is closed after this (default 65 s, longer than common load balancers' 60 s). */
  keepAliveTimeoutMs?: number;
  /** Idle keep-alive connections kept at most; past it the longest idle is closed (default 1,024). */
  maxIdleConnections?: number;
  /** Connections at most, idle or not; past it new ones are refused (default 16,384). */
  maxConnections?: number;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The data plane's HTTP server with its limits: header and request deadlines (checked every
 * second, so a slow client is cut within a second of its deadline), a cap on connections, and
 * a cap on idle keep-alive connections (oldest idle closed first).
 */
export function createDataServer(handler: Handler, limits: DataServerLimits = {}): Server {
  const idle = new Map<Socket, true>();
  const maxIdle = limits.maxIdleConnections ?? 1_024;
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs ?? 10_000,
      requestTimeout: limits.requestTimeoutMs ?? 30_000,
      keepAliveTimeout: limits.keepAliveTimeoutMs ?? 65_000,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      const socket = req.socket;
      idle.delete(socket);
      res.once('finish', () => {
        if (socket.destroyed) return;
        // Stopping: a connection whose call just finished is not kept for another.
        if (!server.listening) return void socket.end();
        idle.set(socket, true);
        if (idle.size > maxIdle) {
          const [oldest] = idle.keys();
          idle.delete(oldest!);
          oldest!.destroy();
        }
      });
      handler(req, res);
    },
  );
  server.maxConnections = limits.maxConnections ?? 16_384;
  server.on('connection', (s: Socket) => s.once('close', () => idle.delete(s)));
  return server;
}
