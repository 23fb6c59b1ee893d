import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { json, startServer, type TestServer } from '../helpers/server.js';
import { REVOKED_AT, storyRows } from '../fixtures/damage/story.js';
import { toJsonl } from '../fixtures/damage/write.js';
import { LITELLM_API_KEY, projectForLiteLlm, toSpendLogs } from '../fixtures/damage/litellm.js';
import { spendLogsAnswer, type SpendLog } from '../helpers/litellm-fake.js';

const dir = mkdtempSync(join(tmpdir(), 'tq-damage-remote-'));
const rows = storyRows();
const projected = join(dir, 'projected.jsonl');
writeFileSync(projected, toJsonl(projectForLiteLlm(rows)));
writeFileSync(join(dir, 'plain.jsonl'), toJsonl(rows));
const MASTER_KEY = 'sk-litellm-master-0123456789abcdef';
let litellm: TestServer;

beforeAll(async () => {
  litellm = await startServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (req.headers.authorization !== `Bearer ${MASTER_KEY}`)
      return json(res, 401, { error: { message: 'Authentication Error' } });
    // As LiteLLM answers: per-day totals for a date range unless summarize=false.
    if (req.method === 'GET' && u.pathname === '/spend/logs')
      return json(res, 200, spendLogsAnswer(toSpendLogs(rows) as SpendLog[], u.searchParams));
    json(res, 404, { error: 'unexpected request' });
  });
});
afterAll(() => litellm.close());

const run = (args: string[], env: Record<string, string> = {}) =>
  runInProcess(['damage', ...args], { env: isolatedEnv({ TZ: 'UTC', ...env }) });

describe('LiteLLM proxy spend logs over HTTP', () => {
  it('reads GET /spend/logs with the admin token, filters to the minute, and matches the file source', async () => {
    const q = [
      '--json',
      '--vault-key',
      'vk_refund_agent',
      '--from',
      '2026-11-21T02:00:00Z',
      '--to',
      '2026-11-21T02:30:00Z',
      '--revoked-at',
      REVOKED_AT,
    ];
    const r = await run(['--source', `litellm+${litellm.url}`, ...q], { TOURNIQUET_ADMIN_TOKEN: MASTER_KEY });
    expect(r.code).toBe(0);
    const { source, ...got } = JSON.parse(r.stdout);
    expect(source).toBe(`litellm:${litellm.url}`);
    const { source: _s, ...expected } = JSON.parse((await run(['--source', projected, ...q])).stdout);
    expect(got).toEqual(expected);
    expect(litellm.requests.at(-1)!.url).toBe('/spend/logs?start_date=2026-11-21&end_date=2026-11-22&summarize=false');
    expect(r.stdout + r.stderr).not.toContain(LITELLM_API_KEY.slice(8));
    expect(r.stdout + r.stderr).not.toContain(MASTER_KEY.slice(8));
  });

  it('`--source proxy` on a profile whose proxy_kind is litellm reads its spend logs', async () => {
    const r = await run(['--source', 'proxy', '--json'], {
      TOURNIQUET_PROXY_URL: litellm.url,
      TOURNIQUET_ADMIN_TOKEN: MASTER_KEY,
    });
    // proxy_kind defaults to tourniquet: the summary endpoint is not there, and the hint says what to set.
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toMatch(/config set proxy_kind litellm/);
    const env = isolatedEnv({
      TZ: 'UTC',
      TOURNIQUET_PROXY_URL: litellm.url,
      TOURNIQUET_ADMIN_TOKEN: MASTER_KEY,
    }) as Record<string, string>;
    expect((await runInProcess(['config', 'set', 'proxy_kind', 'litellm'], { env })).code).toBe(0);
    // LiteLLM filters /spend/logs by date (the story is on 2026-11-21), so the range is named.
    const ok = await runInProcess(
      ['damage', '--source', 'proxy', '--json', '--from', '2026-11-21T00:00:00Z', '--to', '2026-11-21T23:59:00Z'],
      { env },
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ source: `litellm:${litellm.url}`, calls_total: rows.length });
  });

  it('a refused master key is exit 3', async () => {
    const r = await run(['--source', `litellm+${litellm.url}`], {
      TOURNIQUET_ADMIN_TOKEN: 'sk-wrong-wrong-wrong-wrong',
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused our credentials/);
  });
});

describe('PostgreSQL that cannot be reached', () => {
  it('a password in the URL on argv is refused (exit 2) and never printed; from the environment it is scrubbed', async () => {
    const r = await run(['--source', 'postgres://audit:Sup3rS3cretPw@127.0.0.1:1/audit']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/never takes secrets on argv/);
    expect(r.stdout + r.stderr).not.toContain('Sup3rS3cretPw');
    const viaEnv = await run([], { TOURNIQUET_AUDIT_SOURCE: 'postgres://audit:Sup3rS3cretPw@127.0.0.1:1/audit' });
    expect(viaEnv.code).toBe(1);
    expect(viaEnv.stderr).toMatch(/cannot connect to postgres:\/\/audit:\*\*\*@127\.0\.0\.1:1\/audit/);
    expect(viaEnv.stdout + viaEnv.stderr).not.toContain('Sup3rS3cretPw');
  });
});

describe('--source names a profile', () => {
  it("uses that profile's audit_source", async () => {
    const env = isolatedEnv({ TZ: 'UTC' }) as Record<string, string>;
    const set = await runInProcess(['config', 'set', '--profile', 'forensics', 'audit_source', projected], { env });
    expect(set.code, set.stderr).toBe(0);
    const r = await runInProcess(['damage', '--source', 'forensics', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).calls_total).toBe(rows.length);
  });

  it('takes the table and column names from the profile (audit_table, audit_columns)', async () => {
    const { toSqlite } = await import('../fixtures/damage/write.js');
    const { default: Database } = await import('better-sqlite3');
    const db = join(dir, 'renamed.db');
    toSqlite(db, rows);
    const h = new Database(db);
    h.exec(
      'CREATE VIEW calls AS SELECT id, started_at AS ts, finished_at, vault_key_id, agent_run_id, customer_scope_id, method, path, policy_verdict, cost_usd_parsed AS usd FROM agent_call_audit',
    );
    h.close();
    const env = isolatedEnv({ TZ: 'UTC' }) as Record<string, string>;
    for (const [k, v] of [
      ['audit_source', db],
      ['audit_table', 'calls'],
      ['audit_columns', 'started_at=ts,cost_usd_parsed=usd'],
    ])
      expect((await runInProcess(['config', 'set', k!, v!], { env })).code).toBe(0);
    const r = await runInProcess(['damage', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const { source: _a, ...got } = JSON.parse(r.stdout);
    const { source: _b, ...expected } = JSON.parse(
      (await run(['--source', projected.replace('projected.jsonl', 'plain.jsonl'), '--json'])).stdout,
    );
    expect(got).toEqual(expected);
  });

  it('an unknown profile is a usage error', async () => {
    const r = await run(['--source', 'nosuchprofile']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no profile named "nosuchprofile"/);
  });
});
