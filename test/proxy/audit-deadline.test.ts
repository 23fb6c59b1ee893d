import { describe, expect, it } from 'vitest';
import { AuditWriter } from '../../src/proxy/audit-writer.js';
import {
  StoreUnavailableError,
  type AuditOutcome,
  type AuditRow,
  type ProxyStore,
} from '../../src/proxy/store/types.js';

/**
 * The write-ahead deadline: a call whose intent row is not durable within it is refused (never
 * forwarded), each call by its own deadline, never before it. One timer serves every call.
 */
const row = (n: number): AuditRow => ({
  started_at: '2026-12-03T00:00:00.000Z',
  finished_at: '2026-12-03T00:00:00.000Z',
  vault_key_id: 'vk',
  agent_run_id: null,
  customer_scope_id: null,
  vendor: 'openai',
  method: 'POST',
  path: '/v1/chat/completions',
  policy_verdict: 'allowed',
  vendor_status: 0,
  cost_usd_parsed: null,
  upstream_key_id: null,
  latency_ms: 0,
  instance_id: 'inst',
  call_id: `inst.${n}`,
  outcome: 'pending',
  amount_usd_estimated: null,
});

/** A store whose commits wait until `release()` is called (never, for a hung store). */
function heldStore() {
  const waiting: Array<() => void> = [];
  const written: string[] = [];
  const store = {
    appendAudit(rows: AuditRow[], _outcomes: AuditOutcome[]) {
      return new Promise<void>((resolve) =>
        waiting.push(() => {
          written.push(...rows.map((r) => r.call_id!));
          resolve();
        }),
      );
    },
  } as unknown as ProxyStore;
  return { store, written, release: () => waiting.splice(0).forEach((f) => f()) };
}

const settled = (p: Promise<void>) => {
  const s = { state: 'pending' as 'pending' | 'ok' | 'refused', at: 0, err: undefined as unknown };
  const t0 = performance.now();
  p.then(
    () => Object.assign(s, { state: 'ok', at: performance.now() - t0 }),
    (err) => Object.assign(s, { state: 'refused', at: performance.now() - t0, err }),
  );
  return s;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('AuditWriter: the intent deadline', () => {
  it('refuses each call at its own deadline when the store hangs, never before', async () => {
    const { store } = heldStore();
    const w = new AuditWriter(store, { intentDeadlineMs: 150 });
    const a = settled(w.intent(row(1)));
    await sleep(100);
    const b = settled(w.intent(row(2)));
    await sleep(80); // a's deadline (150 ms) has passed; b's (at 250 ms) has not
    for (let t0 = Date.now(); a.state === 'pending' && Date.now() - t0 < 2_000;) await sleep(5);
    expect(a.state).toBe('refused');
    expect(a.err).toBeInstanceOf(StoreUnavailableError);
    expect((a.err as StoreUnavailableError).reason).toBe('timeout');
    expect(a.at).toBeGreaterThanOrEqual(149);
    expect(b.state).toBe('pending');
    for (let t0 = Date.now(); b.state === 'pending' && Date.now() - t0 < 2_000;) await sleep(5);
    expect(b.state).toBe('refused');
    expect(b.at).toBeGreaterThanOrEqual(149);
  });

  it('a call made durable in time is not refused later, and the calls after it keep their own deadlines', async () => {
    const { store, written, release } = heldStore();
    const w = new AuditWriter(store, { intentDeadlineMs: 300 });
    const a = settled(w.intent(row(1)));
    await sleep(20);
    release(); // a's batch commits
    for (let t0 = Date.now(); a.state === 'pending' && Date.now() - t0 < 2_000;) await sleep(5);
    expect(a.state).toBe('ok');
    await sleep(180);
    const b = settled(w.intent(row(2))); // at about 200 ms: due at about 500 ms
    await sleep(150); // a's deadline (300 ms) has passed; b's has not
    expect(b.state).toBe('pending');
    release();
    for (let t0 = Date.now(); b.state === 'pending' && Date.now() - t0 < 2_000;) await sleep(5);
    expect(b.state).toBe('ok');
    expect(a.state).toBe('ok');
    expect(written).toEqual(['inst.1', 'inst.2']);
  });

  it('many calls: the late ones are refused, the durable ones are not', async () => {
    const { store, release } = heldStore();
    const w = new AuditWriter(store, { intentDeadlineMs: 100 });
    const early = Array.from({ length: 50 }, (_, i) => settled(w.intent(row(i))));
    await sleep(20);
    release();
    await sleep(20);
    const late = Array.from({ length: 50 }, (_, i) => settled(w.intent(row(100 + i))));
    for (let t0 = Date.now(); late.some((s) => s.state === 'pending') && Date.now() - t0 < 3_000;) await sleep(5);
    expect(early.map((s) => s.state)).toEqual(early.map(() => 'ok'));
    expect(late.map((s) => s.state)).toEqual(late.map(() => 'refused'));
    expect(Math.min(...late.map((s) => s.at))).toBeGreaterThanOrEqual(99);
  });
});
