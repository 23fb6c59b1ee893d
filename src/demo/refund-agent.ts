import Stripe from 'stripe';

/**
 * The runaway "refund agent" of seed 002: a loop on the official Stripe SDK that refunds
 * charges one after another, never stops on its own, and keeps retrying when refused. It
 * records every call with its start and end time so the demo can count what leaked.
 */
export interface AgentCall {
  /** performance.now() at the start and end of the call. */
  started: number;
  ended: number;
  /** Money moved: the vendor created the refund. */
  ok: boolean;
  status: number;
  /** Why a refused call was refused: `vault_key_revoked`, Stripe's error code, ... */
  code: string | null;
}

export interface RefundTarget {
  charge: string;
  customer: string;
}

export interface RefundAgentOptions {
  /** A vault key (through the proxy) or a production key (straight to the vendor). */
  key: string;
  /** Where the SDK sends requests: the proxy's data plane or the vendor. */
  baseUrl: string;
  intervalMs: number;
  targets: RefundTarget[];
  amountCents?: number;
  /**
   * 1 (default): one refund after another, each waiting for the last. More: a refund starts every
   * interval whether or not the last has answered, up to this many at once, so the agent keeps
   * its rate on a slow machine (the demo's runaway, on its compressed clock).
   */
  maxInFlight?: number;
}

export interface RefundAgent {
  readonly calls: AgentCall[];
  /** Resolves with the first call that was refused, at or after `since`. */
  firstRefusalAfter(since: number, timeoutMs: number, signal?: AbortSignal): Promise<AgentCall | undefined>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

export function stripeClient(key: string, baseUrl: string): Stripe {
  const u = new URL(baseUrl);
  return new Stripe(key, {
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    maxNetworkRetries: 0,
    timeout: 5000,
    telemetry: false,
  });
}

function refusalCode(err: unknown): { status: number; code: string } {
  const e = err as { statusCode?: number; code?: string; raw?: { code?: string; error?: { code?: string } } };
  return { status: e.statusCode ?? 0, code: e.code ?? e.raw?.code ?? e.raw?.error?.code ?? 'network_error' };
}

export function startRefundAgent(opts: RefundAgentOptions): RefundAgent {
  const stripe = stripeClient(opts.key, opts.baseUrl);
  const calls: AgentCall[] = [];
  const waiters: Array<(c: AgentCall) => void> = [];
  let stopped = false;
  // A runaway: no back-off, no exit condition, a refusal is just another tick.
  const maxInFlight = opts.maxInFlight ?? 1;
  const inFlight = new Set<Promise<void>>();
  const one = async (i: number) => {
    const t = opts.targets[i % opts.targets.length]!;
    const started = performance.now();
    let call: AgentCall;
    try {
      await stripe.refunds.create(
        { charge: t.charge, amount: opts.amountCents ?? 1200 },
        { headers: { 'x-customer-id': t.customer } },
      );
      call = { started, ended: performance.now(), ok: true, status: 200, code: null };
    } catch (err) {
      call = { started, ended: performance.now(), ok: false, ...refusalCode(err) };
    }
    calls.push(call);
    for (const w of waiters.splice(0)) w(call);
  };
  const loop = (async () => {
    const t0 = performance.now();
    for (let i = 0; !stopped; i++) {
      if (maxInFlight === 1) {
        const started = performance.now();
        await one(i);
        await sleep(opts.intervalMs - (performance.now() - started));
        continue;
      }
      if (inFlight.size < maxInFlight) {
        const p = one(i).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await sleep(t0 + (i + 1) * opts.intervalMs - performance.now());
    }
    await Promise.all(inFlight);
  })();
  return {
    calls,
    async firstRefusalAfter(since, timeoutMs, signal) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const hit = calls.filter((c) => !c.ok && c.started >= since).sort((a, b) => a.started - b.started)[0];
        if (hit) return hit;
        const left = deadline - performance.now();
        if (left <= 0 || stopped || signal?.aborted) return undefined;
        await new Promise<void>((resolve) => {
          const done = () => (clearTimeout(timer), signal?.removeEventListener('abort', done), resolve());
          const timer = setTimeout(done, left);
          waiters.push(done);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    },
    async stop() {
      stopped = true;
      for (const w of waiters.splice(0)) w(calls[calls.length - 1]!);
      await loop;
    },
  };
}
