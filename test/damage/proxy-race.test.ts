import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import Database from 'better-sqlite3';
import { ADMIN_TOKEN, startHarness, through, type Harness } from '../proxy/helpers.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import type { DamageSummary } from '../../src/core/damage/types.js';

/**
 * `damage --source proxy` while agents keep calling: the proxy's writer thread commits rows
 * while the summary is read. The source asks once, with the revoke time, and the proxy reads the
 * summary and the after-revoke counts in one read transaction (one snapshot), bounded by one end
 * time: no run counts a row that started after it, every row the store held when the run began
 * is counted once, its cost whole or unknown, and the figures agree with each other exactly
 * (verdicts, minutes and keys add up to the totals; the unknown-cost count is the minutes' own).
 * Each run is checked against the proxy's own database file, read directly, with its end time
 * taken from the request it sent (a recording pass-through in front of the admin API).
 *
 * Not asserted: that a run equals every row started before its end time. Rows become durable
 * after they start (an intent a batch later, a refusal after its answer), so a row may start
 * before the end time and reach the store after the snapshot.
 */
/** Two agents with fixed charge amounts (so a cost is either counted whole or not at all), one knocking revoked. */
const AGENTS = [
  { name: 'a', cents: 123 },
  { name: 'b', cents: 4567 },
] as const;

interface Row {
  id: number;
  started_at: string;
  finished_at: string | null;
  vault_key_id: string;
  policy_verdict: string;
  cost_usd_parsed: number | null;
}

interface Recorder {
  url: string;
  /** The audit reads, in order: path and query. */
  reads: Array<{ path: string; query: URLSearchParams }>;
  close(): Promise<void>;
}

/** A pass-through to the admin API that notes each audit read's query. */
function recorder(target: string): Promise<Recorder> {
  const reads: Recorder['reads'] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/v1/audit')) reads.push({ path: url.pathname, query: url.searchParams });
    void fetch(target + req.url, { method: req.method, headers: { authorization: req.headers.authorization ?? '' } })
      .then(async (up) =>
        res
          .writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' })
          .end(Buffer.from(await up.arrayBuffer())),
      )
      .catch(() => res.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        reads,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    }),
  );
}

const micros = (usd: number) => Math.round(usd * 1_000_000);

/** The proxy's audit rows, read from its database file (WAL: a reader beside the proxy's writer). */
function auditRows(dbPath: string): Row[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT id, started_at, finished_at, vault_key_id, policy_verdict, cost_usd_parsed FROM agent_call_audit',
      )
      .all() as Row[];
  } finally {
    db.close();
  }
}

const maxId = (dbPath: string) => auditRows(dbPath).reduce((m, r) => Math.max(m, r.id), 0);

const byVerdict = (rows: Row[]) =>
  rows.reduce<Record<string, number>>((m, r) => ((m[r.policy_verdict] = (m[r.policy_verdict] ?? 0) + 1), m), {});

let h: Harness;
let rec: Recorder;
beforeAll(async () => {
  h = await startHarness();
  rec = await recorder(h.proxy.adminUrl);
});
afterAll(async () => {
  await rec.close();
  await h.stop();
});

describe('damage --source proxy reads one snapshot while the proxy keeps appending', () => {
  it('each run counts nothing started after its end time, everything durable before it began, costs whole', async () => {
    const keys = await Promise.all(AGENTS.map(() => h.issue({ vendor: 'stripe' })));
    const revoked = await h.issue({ vendor: 'stripe' });
    expect((await h.admin('DELETE', `/v1/vault-keys/${revoked.id}`)).status).toBe(200);

    // Given agents that never stop: two charging, one refused (its rows are written after the answer).
    let stop = false;
    let sent = 0;
    const loop = async (secret: string, cents: number) => {
      while (!stop) {
        await through(h.proxy.dataUrl, 'POST', '/v1/charges', secret, `amount=${cents}&currency=usd`);
        sent++;
      }
    };
    const agents = [
      ...AGENTS.map((a, i) => loop(keys[i]!.secret, a.cents)),
      ...AGENTS.map((a, i) => loop(keys[i]!.secret, a.cents)),
      loop(revoked.secret, 100),
    ];
    const waitFor = async (n: number) => {
      while (sent < n) await new Promise((r) => setTimeout(r, 5));
    };
    await waitFor(100);
    const revokedAt = Date.now(); // the split damage reports "after the revoke" from
    await waitFor(sent + 100);

    // When damage reads, again and again, while they call.
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: rec.url, TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN });
    const runs: Array<{ summary: DamageSummary; to: number; durableBefore: number }> = [];
    for (let i = 0; i < 16; i++) {
      const before = rec.reads.length;
      const durableBefore = maxId(h.dbPath); // the rows the store held before this run began
      const r = await runInProcess(
        ['damage', '--source', 'proxy', '--revoked-at', new Date(revokedAt).toISOString(), '--json'],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const reads = rec.reads.slice(before);
      // One read: the summary with the revoke time, bounded by one end time (the snapshot).
      expect(reads.map((x) => x.path)).toEqual(['/v1/audit/summary']);
      const to = Date.parse(reads[0]!.query.get('to')!);
      expect(Date.parse(reads[0]!.query.get('revoked_at')!)).toBe(revokedAt);
      runs.push({ summary: JSON.parse(r.stdout) as DamageSummary, to, durableBefore });
    }
    stop = true;
    await Promise.all(agents);
    await h.proxy.audit.drain();

    // Then every run is bounded by its snapshot, from above and from below.
    const rows = auditRows(h.dbPath);
    const started = (r: Row) => Date.parse(r.started_at);
    for (const [i, { to }] of runs.entries()) {
      // The proxy kept appending while each run read: rows started after its snapshot, before the next.
      const next = runs[i + 1]?.to ?? Infinity;
      const appended = rows.filter((r) => started(r) >= to && started(r) < next);
      expect(appended.length, `appended during run ${i + 1}`).toBeGreaterThan(0);
    }
    for (const [i, { summary: s, to, durableBefore }] of runs.entries()) {
      const what = `run ${i + 1} (end ${new Date(to).toISOString()})`;
      // At most the rows started before the end time: nothing from after it, in any read.
      const upper = rows.filter((r) => started(r) < to);
      // At least the rows the store held when the run began (each started before the end time).
      const lower = rows.filter((r) => r.id <= durableBefore);
      expect(lower.every((r) => started(r) < to)).toBe(true);
      const afterRevoke = (rs: Row[]) => rs.filter((r) => started(r) >= revokedAt);
      const allowed = (rs: Row[]) => rs.filter((r) => r.policy_verdict === 'allowed');
      const within = (got: number, lo: number, hi: number, label: string) => {
        expect(got, `${what}: ${label}, at least ${lo}`).toBeGreaterThanOrEqual(lo);
        expect(got, `${what}: ${label}, at most ${hi}`).toBeLessThanOrEqual(hi);
      };
      within(s.calls_total, lower.length, upper.length, 'calls');
      for (const v of new Set([...Object.keys(byVerdict(upper)), ...Object.keys(s.by_verdict)]))
        within(s.by_verdict[v] ?? 0, byVerdict(lower)[v] ?? 0, byVerdict(upper)[v] ?? 0, v);
      within(s.after_revoke!.later, afterRevoke(lower).length, afterRevoke(upper).length, 'calls after the revoke');
      within(
        s.after_revoke!.later_allowed,
        allowed(afterRevoke(lower)).length,
        allowed(afterRevoke(upper)).length,
        'allowed calls after the revoke',
      );
      expect(Date.parse(s.last_call!), what).toBeLessThan(to);
      // One snapshot: the figures add up exactly, whatever was committed while they were read.
      const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
      expect(sum(Object.values(s.by_verdict)), `${what}: verdicts add up to the calls`).toBe(s.calls_total);
      expect(sum(s.per_minute.map((m) => m.calls)), `${what}: minutes add up to the calls`).toBe(s.calls_total);
      expect(sum(s.vault_keys.map((v) => v.calls)), `${what}: keys add up to the allowed calls`).toBe(s.calls_allowed);
      expect(sum(s.vault_keys.map((v) => micros(v.cost_usd))), `${what}: keys' cost adds up to the cost`).toBe(
        micros(s.cost_usd),
      );
      expect(
        sum(s.per_minute.map((m) => m.calls_cost_unknown ?? 0)),
        `${what}: the minutes' unknown-cost calls are the total's`,
      ).toBe(s.cost_unknown!.calls);
      expect(
        sum(s.per_minute.map((m) => micros(m.cost_usd ?? 0))),
        `${what}: the minutes' cost adds up to the cost`,
      ).toBe(micros(s.cost_usd));
      // Cost: each agent's allowed calls are counted whole (its fixed amount) or, not yet answered
      // at the snapshot, as unknown; never a part of one, never one twice.
      for (const [k, a] of AGENTS.entries()) {
        const mine = (rs: Row[]) => allowed(rs).filter((r) => r.vault_key_id === keys[k]!.id);
        const got = s.vault_keys.find((v) => v.vault_key_id === keys[k]!.id) ?? { calls: 0, cost_usd: 0 };
        within(got.calls, mine(lower).length, mine(upper).length, `agent ${a.name}'s calls`);
        const charges = micros(got.cost_usd) / (a.cents * 10_000);
        expect(Number.isInteger(charges), `${what}: agent ${a.name}'s ${got.cost_usd} is whole charges`).toBe(true);
        expect(charges, `${what}: agent ${a.name}'s charges`).toBeLessThanOrEqual(got.calls);
      }
    }
  }, 120_000);
});
