import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProxy } from '../../src/proxy/index.js';
import { startHarness, through, ADMIN_TOKEN, adminCall, type Harness } from './helpers.js';
import { agents, lockSqlite, missingRows, until, vendorCount } from './faults.js';

/** What the store itself says about a key, read by another connection (WAL readers are not blocked by the lock). */
function storeStatus(dbPath: string, id: string): string | undefined {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT status FROM vault_keys WHERE id = ?').get(id) as { status: string } | undefined)?.status;
  } finally {
    db.close();
  }
}

function auditPaths(dbPath: string): string[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.prepare('SELECT path FROM agent_call_audit').all() as Array<{ path: string }>).map((r) => r.path);
  } finally {
    db.close();
  }
}

describe('the SQLite file write-locked by another process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h?.stop());

  it('under load and during a revoke: calls refused before the vendor, the admin API answers, the revoke is C1, nothing lost after release and restart', async () => {
    // Given agents calling through the proxy, each call counted where it lands at the vendor
    const keys = [await h.issue({ vendor: 'stripe' }), await h.issue({ vendor: 'stripe' })];
    const target = await h.issue({ vendor: 'stripe' });
    const atVendor = vendorCount(h.sandbox, 'lk');
    const load = agents(
      () => h.proxy.dataUrl,
      () => keys.map((k) => k.secret),
      'lk',
    );
    await until('calls flowing', () => load.outcomes.filter((o) => o.status === 200 || o.status === 404).length > 20);

    // When another process takes the write lock
    const lock = await lockSqlite(h.dbPath);
    const lockedAt = performance.now();
    // and a revoke arrives while it holds it
    const revoking = h.admin('DELETE', `/v1/vault-keys/${target.id}`);
    // Then the event loop is not stalled: a refusal and the health answer come back while the revoke still waits
    let revokeDone = false;
    void revoking.then(() => (revokeDone = true));
    const refusal = await through(h.proxy.dataUrl, 'GET', '/v1/customers', 'vk_not_a_key_of_this_proxy_0000000000000');
    expect([refusal.status, refusal.json.error.code, revokeDone]).toEqual([401, 'vault_key_unknown', false]);
    // and the revoke is answered C1's way: not durable, refused here anyway, never 500 nor already_revoked
    const first = await revoking;
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.body).toMatchObject({
      error: { type: 'tourniquet_error', code: 'revoke_not_durable' },
      id: target.id,
      refused_here: true,
      journaled: true,
    });
    expect(storeStatus(h.dbPath, target.id)).toBe('active');
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', target.secret)).json.error.code).toBe(
      'vault_key_revoked',
    );
    const again = await h.admin('DELETE', `/v1/vault-keys/${target.id}`);
    expect([again.status, again.body.error?.code]).toEqual([503, 'revoke_not_durable']);
    // and agent calls are refused with 503 before reaching the vendor; health says why
    await until('calls refused while locked', () =>
      load.outcomes.some((o) => o.sentAt > lockedAt && o.code === 'store_unavailable'),
    );
    const health = await h.admin('GET', '/v1/health');
    expect([health.status, health.body.status, health.body.pending_revokes]).toEqual([503, 'store_unavailable', 1]);
    const ready = await fetch(`${h.proxy.dataUrl}/_tourniquet/ready`);
    const readyText = await ready.text();
    expect(ready.status).toBe(503);
    // The journal holds the key's id and when, never a secret; nor do the failure answers
    const journal = readdirSync(`${h.dbPath}.revokes`)
      .map((f) => readFileSync(join(`${h.dbPath}.revokes`, f), 'utf8'))
      .join('');
    expect(journal).toContain(`R ${target.id} `);
    for (const text of [journal, JSON.stringify(health.body), readyText, JSON.stringify(first.body)])
      for (const secret of [target.secret, h.sandbox.keys.stripe.secret, ADMIN_TOKEN])
        expect(text).not.toContain(secret);

    // When the lock is released
    await lock.release();
    // Then the pending revoke reaches the store by itself, calls flow again, health is ok
    await until('revoke written by the background retry', () => storeStatus(h.dbPath, target.id) === 'revoked');
    await until('health ok', async () => (await adminCall(h.proxy.adminUrl, 'GET', '/v1/health')).status === 200);
    const releasedAt = performance.now();
    await until('calls answered again', () => load.outcomes.some((o) => o.sentAt > releasedAt && o.status === 404));
    const done = await h.admin('DELETE', `/v1/vault-keys/${target.id}`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ durable: true, already_revoked: true, effective_at: expect.any(String) });
    await load.stop();
    atVendor.stop();

    // And every call that reached the vendor has its audit row; the locked window refused, never forwarded unrecorded
    await h.proxy.audit.drain();
    expect(missingRows(atVendor.seen, auditPaths(h.dbPath))).toEqual([]);
    expect(atVendor.seen.size).toBeGreaterThan(20);
    const during = load.outcomes.filter((o) => o.sentAt > lockedAt && o.at < releasedAt);
    expect(during.some((o) => o.code === 'store_unavailable')).toBe(true);

    // And after a restart on the same file the key stays revoked
    await h.proxy.stop();
    h.proxy = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${h.dbPath}`,
      adminToken: ADMIN_TOKEN,
      upstreams: h.sandbox.urls,
      log: false,
      upstreamKeys: [{ vendor: 'stripe', secret: h.sandbox.keys.stripe.secret, label: 'main', state: 'active' }],
    });
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', target.secret)).json.error.code).toBe(
      'vault_key_revoked',
    );
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', keys[0].secret)).status).toBe(200);
  });
});
