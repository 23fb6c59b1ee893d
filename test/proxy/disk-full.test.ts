import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ADMIN_TOKEN, adminCall, through } from './helpers.js';
import { agents, missingRows, until, vendorCount } from './faults.js';
import { pollUntil } from '../helpers/poll.js';
import { mountTmpfs, tmpfsSkipReason, type Tmpfs } from '../helpers/tmpfs.js';

const skip = tmpfsSkipReason();
const FIXTURE = fileURLToPath(new URL('./fixtures/cli-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function readDb<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe.skipIf(skip !== null)(`SQLite on a small tmpfs that fills up${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let fs: Tmpfs;
  let sandbox: Sandbox;
  let proxy: RunningProxy;
  let dbPath: string;
  const start = () =>
    startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${dbPath}`,
      adminToken: ADMIN_TOKEN,
      upstreams: sandbox.urls,
      log: false,
      upstreamKeys: [{ id: 'up_stripe_main', vendor: 'stripe', secret: sandbox.keys.stripe.secret, state: 'active' }],
    });
  beforeAll(async () => {
    fs = mountTmpfs(12);
    sandbox = await startSandbox({ timeScale: 0.001 });
    dbPath = join(fs.dir, 'proxy.db');
  });
  afterAll(async () => {
    await proxy?.stop().catch(() => {});
    await sandbox?.stop();
    fs?.destroy();
  });

  it('under load: calls refused before the vendor, health says disk_full, freed space brings it back without a restart', async () => {
    proxy = await start();
    const key = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe', agent_run_id: 'full' }))
      .body;
    const target = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    const atVendor = vendorCount(sandbox, 'df');
    const load = agents(
      () => proxy.dataUrl,
      () => [key.secret],
      'df',
      { concurrency: 8, pauseMs: 0 },
    );
    await until('calls flowing', () => load.outcomes.filter((o) => o.status === 404).length > 20);

    // When the volume fills up (another writer took the space) and the audit grows into the rest
    const filler = fs.fill(128 * 1024);
    // Then health says so, with a 503 in the same answer (each read on its own: an audit batch that
    // still fits in the WAL may go through between two reads, and health may rightly say ok then)
    const health = await pollUntil(
      'disk full seen by the proxy',
      async () => {
        const r = await adminCall(proxy.adminUrl, 'GET', '/v1/health');
        return r.body.status === 'disk_full' ? r : null;
      },
      { timeoutMs: 60_000 },
    );
    expect(health.status).toBe(503);
    const fullAt = performance.now();
    // and readiness too; calls are refused with 503 store_unavailable, not a bug
    const ready = await pollUntil('readiness says disk_full', async () => {
      const r = await fetch(`${proxy.dataUrl}/_tourniquet/ready`);
      const body = (await r.json()) as { status: string };
      return body.status === 'disk_full' ? { status: r.status, body } : null;
    });
    expect(ready.status).toBe(503);
    await until('a call refused for the full disk', () =>
      load.outcomes.some((o) => o.sentAt > fullAt && o.code === 'store_unavailable'),
    );
    // and a revoke is refused here whatever the disk says; 200 only if the store took it
    const del = await adminCall(proxy.adminUrl, 'DELETE', `/v1/vault-keys/${target.id}`);
    expect([200, 503]).toContain(del.status);
    if (del.status === 503)
      expect(del.body).toMatchObject({ error: { code: 'revoke_not_durable' }, refused_here: true, journaled: true });
    else
      expect(readDb(dbPath, (db) => db.prepare('SELECT status FROM vault_keys WHERE id = ?').get(target.id))).toEqual({
        status: 'revoked',
      });
    expect((await through(proxy.dataUrl, 'GET', '/v1/customers', target.secret)).json.error.code).toBe(
      'vault_key_revoked',
    );

    // When the space is freed
    rmSync(filler);
    // Then the proxy comes back by itself: health ok, calls answered, the revoke in the store
    await until(
      'health ok again',
      async () => (await adminCall(proxy.adminUrl, 'GET', '/v1/health')).status === 200,
      30_000,
    );
    const freedAt = performance.now();
    await until('calls answered again', () => load.outcomes.some((o) => o.sentAt > freedAt && o.status === 404));
    await until(
      'revoke in the store',
      () =>
        readDb(
          dbPath,
          (db) =>
            (db.prepare('SELECT status FROM vault_keys WHERE id = ?').get(target.id) as { status: string }).status,
        ) === 'revoked',
    );
    await load.stop();
    atVendor.stop();
    await proxy.audit.drain();

    // And no call reached the vendor without its audit row; the full-disk window refused some
    const paths = readDb(dbPath, (db) =>
      (db.prepare('SELECT path FROM agent_call_audit').all() as Array<{ path: string }>).map((r) => r.path),
    );
    expect(missingRows(atVendor.seen, paths)).toEqual([]);
    expect(atVendor.seen.size).toBeGreaterThan(20);

    // And after a restart the key stays revoked and the rest works
    await proxy.stop();
    proxy = await start();
    expect((await through(proxy.dataUrl, 'GET', '/v1/customers', target.secret)).json.error.code).toBe(
      'vault_key_revoked',
    );
    expect((await through(proxy.dataUrl, 'GET', '/v1/customers', key.secret)).status).toBe(200);
  }, 120_000);

  it('an idle instance comes back by itself once space is freed: no call is needed to prove it', async () => {
    const key = (await adminCall(proxy.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    // When the volume fills up and a call finds its audit row cannot be written
    const filler = fs.fill(0);
    await until('a call refused for the full disk', async () => {
      const r = await through(proxy.dataUrl, 'GET', '/v1/customers', key.secret);
      return r.status === 503 && r.json.error.code === 'store_unavailable';
    });
    const full = await adminCall(proxy.adminUrl, 'GET', '/v1/health');
    expect([full.status, full.body.status]).toEqual([503, 'disk_full']);
    // (a load balancer draining it on readiness sends no more calls: nothing but the proxy itself can see the space)
    rmSync(filler);
    await until(
      'health ok again with no traffic',
      async () => (await adminCall(proxy.adminUrl, 'GET', '/v1/health')).status === 200,
      15_000,
    );
    expect((await fetch(`${proxy.dataUrl}/_tourniquet/ready`)).status).toBe(200);
    expect((await through(proxy.dataUrl, 'GET', '/v1/customers', key.secret)).status).toBe(200);
  }, 60_000);

  it('start-up on a full disk: a clear error and exit 1, never "a bug"', async () => {
    await proxy.stop();
    writeFileSync(join(fs.dir, 'admin-token'), ADMIN_TOKEN + '\n', { mode: 0o600 });
    const filler = fs.fill(0);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        FIXTURE,
        'proxy',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${dbPath}`,
        '--admin-token-file',
        join(fs.dir, 'admin-token'),
      ],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    rmSync(filler);
    expect(code, err).toBe(1);
    expect(err).toMatch(/cannot start the proxy: the disk is full/);
    expect(err).toMatch(/free space on the volume/);
    expect(err).not.toMatch(/bug/);
  }, 60_000);
});
