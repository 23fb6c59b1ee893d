import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HealthStatus } from '../health.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Unauthenticated readiness for load balancers, on the data plane (no vendor has a `_tourniquet` prefix). */
export const READY_PATH = '/_tourniquet/ready';

export interface GateDeps {
  /** A shared store: state can be stale. */
  shared: boolean;
  fresh: () => boolean;
  /** Only waiting for the sync that follows a stall: worth holding the request for. */
  resyncing: () => boolean;
  whenFresh: (ms: number) => Promise<boolean>;
  health: () => { status: HealthStatus; reason: string | null };
  /** How long a request is held for that sync (default 750 ms, the staleness bound). */
  holdMs?: number;
}

const STALE_BODY = JSON.stringify({
  error: {
    type: 'tourniquet_error',
    code: 'store_unavailable',
    message: 'the proxy cannot confirm vault-key state with its store; not forwarded, retry shortly',
  },
});

function send(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(text);
}

/**
 * In front of the data plane. Fail closed: while `fresh()` is false (the shared store
 * unreachable, the last sync older than the bound) every agent request gets 503
 * `store_unavailable`, nothing is forwarded, nothing is audited (there is nowhere durable to
 * write it). Right after a stall (SIGCONT, a VM resumed) requests are held until a fresh sync
 * instead, so a paused instance answers a little late rather than on state from before.
 */
export function gate(deps: GateDeps, handler: Handler): Handler {
  const refuse = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    send(res, 503, STALE_BODY, { 'retry-after': '1', 'x-tourniquet-verdict': 'store_unavailable' });
  };
  return (req, res) => {
    if (req.url === READY_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      const h = deps.health();
      return send(
        res,
        h.status === 'ok' ? 200 : 503,
        JSON.stringify({ ready: h.status === 'ok', status: h.status, reason: h.reason }),
      );
    }
    if (!deps.shared || deps.fresh()) return handler(req, res);
    if (!deps.resyncing()) return refuse(req, res);
    void deps.whenFresh(deps.holdMs ?? 750).then((ok) => (ok ? handler(req, res) : refuse(req, res)));
  };
}
