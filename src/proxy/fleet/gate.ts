import type { IncomingMessage, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Fail closed: while `fresh()` is false (the store unreachable, or the last sync older than the
 * bound) every agent request gets 503 `store_unavailable`, nothing is forwarded, and nothing is
 * audited (there is nowhere durable to write it). Agents retry; the instance recovers by itself.
 */
export function failClosed(fresh: () => boolean, handler: Handler): Handler {
  const body = JSON.stringify({
    error: { type: 'tourniquet_error', code: 'store_unavailable', message: 'the proxy cannot confirm vault-key state with its store; not forwarded, retry shortly' },
  });
  return (req, res) => {
    if (fresh()) return handler(req, res);
    req.resume();
    res.writeHead(503, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'retry-after': '1',
      'x-tourniquet-verdict': 'store_unavailable',
    });
    res.end(body);
  };
}
