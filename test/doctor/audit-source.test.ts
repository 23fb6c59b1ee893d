import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runInProcess } from '../helpers/cli.js';
import { startFixture, type Fixture } from '../incident/fixture.js';

/** doctor reads the team's own audit table (audit_source) the way `damage` will at 2am. */
let f: Fixture;
const dir = mkdtempSync(join(tmpdir(), 'tq-doctor-audit-'));
beforeAll(async () => {
  f = await startFixture();
});
afterAll(async () => {
  await f.stop();
});

function row(i: number, extra: Record<string, unknown> = {}) {
  const t = Date.now() - 60_000 * (i + 1);
  return {
    id: i + 1,
    started_at: new Date(t).toISOString(),
    finished_at: new Date(t + 50).toISOString(),
    vault_key_id: 'vk_a',
    agent_run_id: 'run_1',
    customer_scope_id: `cus_${i % 3}`,
    method: 'POST',
    path: '/v1/refunds',
    policy_verdict: 'allowed',
    cost_usd_parsed: 12,
    ...extra,
  };
}

async function doctor(source: string) {
  const r = await runInProcess(['doctor', '--json', '--no-drill'], {
    env: { ...f.env, TOURNIQUET_AUDIT_SOURCE: source, TOURNIQUET_WEBHOOK_URL: 'http://127.0.0.1:9/h' },
  });
  return { code: r.code, check: JSON.parse(r.stdout).checks.find((c: { id: string }) => c.id === 'audit-source') };
}

describe("doctor: the team's own audit table", () => {
  it('a JSONL log with all four columns filled passes', async () => {
    const file = join(dir, 'good.jsonl');
    writeFileSync(file, Array.from({ length: 20 }, (_, i) => JSON.stringify(row(i))).join('\n') + '\n');
    const { code, check } = await doctor(file);
    expect(check).toMatchObject({ status: 'pass' });
    expect(check.detail).toMatch(/20 rows in the last day, all four filled/);
    expect(code).toBe(0);
  });

  it('rows without customer_scope_id or cost fail, naming the columns and the fix; exit 7', async () => {
    const file = join(dir, 'thin.jsonl');
    writeFileSync(
      file,
      Array.from({ length: 10 }, (_, i) =>
        JSON.stringify(row(i, { customer_scope_id: null, cost_usd_parsed: null })),
      ).join('\n') + '\n',
    );
    const { code, check } = await doctor(file);
    expect(code).toBe(7);
    expect(check.status).toBe('fail');
    expect(check.detail).toMatch(/never filled: customer_scope_id, cost_usd_parsed/);
    expect(check.fix).toMatch(/audit_columns/);
  });

  it('a SQLite table without the forensic columns fails with what the database said', async () => {
    const file = join(dir, 'bare.db');
    const db = new Database(file);
    db.exec(
      'CREATE TABLE agent_call_audit (id INTEGER PRIMARY KEY, started_at TEXT, vault_key_id TEXT, method TEXT, path TEXT)',
    );
    db.prepare('INSERT INTO agent_call_audit (started_at, vault_key_id, method, path) VALUES (?, ?, ?, ?)').run(
      new Date().toISOString(),
      'vk_a',
      'POST',
      '/v1/refunds',
    );
    db.close();
    const { code, check } = await doctor(file);
    expect(code).toBe(7);
    expect(check.status).toBe('fail');
    expect(check.fix).toMatch(/policy_verdict, cost_usd_parsed, customer_scope_id, agent_run_id/);
  });
});
