import type { IncomingMessage } from 'node:http';
import type { AuditOutcome, AuditRow, PolicyVerdict } from './store/types.js';
import type { LiveVaultKey } from './state.js';
import { hashSecret } from './state.js';

/** SHA-256 per request is measurable; an agent sends the same key over and over. Bounded. */
const hashes = new Map<string, string>();
export function cachedHash(secret: string): string {
  let h = hashes.get(secret);
  if (h === undefined) {
    if (hashes.size >= 4096) hashes.clear();
    hashes.set(secret, (h = hashSecret(secret)));
  }
  return h;
}

/** ISO time of a millisecond, cached: under load many calls share one (Date formatting is not free). */
let lastSecond = -1;
let secondPrefix = '';
function isoAt(ms: number): string {
  const second = Math.floor(ms / 1000);
  // `2026-11-22T02:14:07.` is formatted once a second; the milliseconds are appended.
  if (second !== lastSecond) {
    lastSecond = second;
    secondPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${secondPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** Calls of this process are numbered; with the instance id that makes a call_id unique in a shared store. */
let sequence = 0;

/** One call through the data plane: what its audit row will say, gathered as it goes. */
export class Call {
  readonly t0 = performance.now();
  readonly startedMs = Date.now();
  readonly id: string;
  key: LiveVaultKey | undefined;
  vendor: string | null = null;
  path = '/';
  customer: string | null = null;
  upstreamKeyId: string | null = null;
  vendorStatus = 0;
  cost: number | null = null;
  /**
   * What the request asks to move, when the vendor module can tell before forwarding; once the
   * limits admit the call, what it is charged if it cannot be metered (limits/estimate.ts).
   */
  amount: number | null = null;
  /** Time spent waiting on the vendor (sent → answer read), for forwarded calls; metrics only. */
  vendorMs: number | null = null;

  constructor(
    readonly method: string,
    readonly instanceId: string,
  ) {
    this.id = `${instanceId}.${(++sequence).toString(36)}`;
  }

  private latency(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /** The write-ahead row of a call about to be forwarded: `pending` until its outcome completes it. */
  intent(): AuditRow {
    return { ...this.row('allowed'), finished_at: isoAt(this.startedMs), latency_ms: 0, outcome: 'pending' };
  }

  /** What completes the intent row once the call has ended (answered, failed, or cut). */
  outcome(verdict: PolicyVerdict): AuditOutcome {
    return {
      call_id: this.id,
      finished_at: isoAt(Date.now()),
      policy_verdict: verdict,
      vendor_status: this.vendorStatus,
      cost_usd_parsed: this.cost,
      latency_ms: this.latency(),
    };
  }

  /** The whole row: a refusal's (complete at once), or a forwarded call's for the request log. */
  row(verdict: PolicyVerdict): AuditRow {
    return {
      started_at: isoAt(this.startedMs),
      finished_at: isoAt(Date.now()),
      vault_key_id: this.key?.id ?? null,
      agent_run_id: this.key?.agent_run_id ?? null,
      customer_scope_id: this.customer,
      vendor: this.vendor,
      method: this.method,
      path: this.path,
      policy_verdict: verdict,
      vendor_status: this.vendorStatus,
      cost_usd_parsed: this.cost,
      upstream_key_id: this.upstreamKeyId,
      latency_ms: this.latency(),
      instance_id: this.instanceId,
      call_id: this.id,
      outcome: 'complete',
      amount_usd_estimated: this.amount,
    };
  }
}

const EMPTY = Buffer.alloc(0);

export function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) return Promise.resolve(null);
  // No length and not chunked: HTTP/1.1 says there is no body (most GETs).
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
