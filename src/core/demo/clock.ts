import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpClient } from '../http.js';
import { fetchRates, rankRates, toKeyRate, type KeyRate } from '../incident/rates.js';
import type { Journal } from '../journal.js';

/**
 * The demo runs seed 002's story faster than real time (time scale 0.05: the agent's 400 ms are
 * 20 ms here, the vendor's tail is scaled the same), and every figure on its screen is at real
 * scale. The proxy is not scaled, so its live rates count calls per minute of wall time; the
 * picker reads the demo's rates instead: each key's calls, from the proxy's own audit rows, over
 * the last minute at real scale (60 s × the time scale), as calls per (real) minute.
 */
export async function ratesOnDemoClock(
  admin: HttpClient,
  o: { timeScale: number; runawayStartedAt: number; threshold: number },
): Promise<KeyRate[]> {
  const live = await fetchRates(admin, o.threshold);
  const now = Date.now();
  const minute = 60_000 * o.timeScale;
  const from = Math.max(now - minute, o.runawayStartedAt);
  const span = Math.max(1, now - from);
  const summary = (
    await admin.get('/v1/audit/summary', {
      query: { from: new Date(from).toISOString(), to: new Date(now + 1).toISOString() },
    })
  ).body as { vault_keys: Array<{ vault_key_id: string | null; calls: number }> };
  const calls = new Map(summary.vault_keys.map((k) => [k.vault_key_id, Number(k.calls)]));
  return rankRates(
    live.map((r) =>
      toKeyRate(
        { ...r, calls_per_minute: Math.round(((calls.get(r.vault_key_id) ?? 0) * minute) / span) },
        o.threshold,
      ),
    ),
  );
}

/**
 * The demo's proxy goes away with it, so the incident keeps its audit rows beside its journal
 * (`audit.jsonl`, the rows of the revoked key the postmortem reads) and says where in the journal:
 * `tourniquet postmortem INCIDENT`, the next move the demo suggests, then works on its own.
 */
export async function keepAuditRows(
  admin: HttpClient,
  journal: Journal,
  vaultKeyId: string,
  fromMs: number,
): Promise<{ file: string; rows: number }> {
  const lines: string[] = [];
  let cursor: string | undefined;
  do {
    const page = (
      await admin.get('/v1/audit', {
        query: { vault_key_id: vaultKeyId, from: new Date(fromMs).toISOString(), limit: 1000, cursor },
      })
    ).body as { data: unknown[]; next_cursor: string | null };
    for (const row of page.data) lines.push(JSON.stringify(row));
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  const file = join(journal.dir, 'audit.jsonl');
  writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
  journal.append('note', {
    message: 'the demo proxy is gone: its audit rows for this key are kept beside this journal',
    audit_source: file,
  });
  return { file, rows: lines.length };
}
