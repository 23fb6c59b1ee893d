import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { PostgresStore } from '../../src/proxy/store/postgres.js';
import { MIGRATIONS } from '../../src/proxy/store/postgres-schema.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { pgAvailable, pgBinDir, startPg, type PgCluster } from '../helpers/pg.js';
import { keyIdOf, newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';
import { secretForms } from '../helpers/secret-forms.js';
import { agents } from '../helpers/agents.js';
import { ADMIN_TOKEN, adminCall, freshDatabase, sql } from './fleet.js';

/** The whole database as pg_dump writes it (plain SQL, data included). */
function pgDump(url: string): Buffer {
  const r = spawnSync(join(pgBinDir()!, 'pg_dump'), ['--dbname', url, '--no-owner'], { maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr.toString('utf8')}`);
  return r.stdout;
}

const formsIn = (dump: Buffer, secret: string) =>
  secretForms(secret).flatMap((f, i) => (dump.includes(f) ? [`form ${i}`] : []));

describe.skipIf(!pgAvailable())('production keys at rest (PostgreSQL)', () => {
  let cluster: PgCluster;
  let sandbox: Sandbox;
  let dir: string;
  const running: RunningProxy[] = [];
  beforeAll(async () => {
    cluster = await startPg();
    sandbox = await startSandbox({ timeScale: 0.001 });
    dir = mkdtempSync(join(tmpdir(), 'tq-pg-at-rest-'));
  });
  afterAll(async () => {
    await Promise.all(running.map((p) => p.stop()));
    await sandbox?.stop();
    cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const start = async (url: string, keyFile: string) => {
    const p = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: new PostgresStore(url, { instanceTtlMs: 2_000 }),
      adminToken: ADMIN_TOKEN,
      masterKey: { from: 'file', path: keyFile },
      upstreams: sandbox.urls,
      log: false,
      shutdownGraceMs: 200,
    });
    running.push(p);
    return p;
  };

  it('pg_dump of the store holds no stored production key in any form', async () => {
    const url = await freshDatabase(cluster.url, 'atrest');
    const keyFile = join(dir, 'a.key');
    writeMasterKeyFile(keyFile, [newMasterKeyText()]);
    const p = await start(url, keyFile);
    const known = sandbox.stripe.createKey('in postgres');
    expect(
      (
        await adminCall(p.adminUrl, 'POST', '/v1/upstream-keys', {
          vendor: 'stripe',
          secret: known.secret,
          state: 'active',
        })
      ).status,
    ).toBe(201);
    const vk = (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret;
    expect((await fetch(p.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${vk}` } })).status).toBe(200);
    const dump = pgDump(url);
    expect(dump.includes(Buffer.from('secret_ct'))).toBe(true); // the dump is the real thing
    expect(formsIn(dump, known.secret)).toEqual([]);
    const [row] = await sql(
      url,
      'SELECT secret, secret_ct IS NOT NULL AS sealed, master_key_id FROM upstream_keys WHERE vendor = $1',
      ['stripe'],
    );
    expect(row).toMatchObject({ secret: null, sealed: true });
  });

  it('a store written by the previous version is sealed by the first instance that starts with a master key', async () => {
    const url = await freshDatabase(cluster.url, 'atrest_legacy');
    // Given the previous version's schema (migration 1 only) and a plain-text production key
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(MIGRATIONS[0]!.sql);
    await c.query(
      `CREATE TABLE tourniquet_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO tourniquet_migrations (version, name) VALUES (1, 'v1')`,
    );
    const known = sandbox.stripe.createKey('legacy in postgres');
    await c.query(
      `INSERT INTO upstream_keys (id, vendor, state, hint, label, account_sid, secret, created_at, updated_at, revision) VALUES ('up_legacy', 'stripe', 'active', 'h', 'legacy', NULL, $1, 't', 't', 1)`,
      [known.secret],
    );
    await c.end();
    expect(formsIn(pgDump(url), known.secret).length).toBeGreaterThan(0);
    // When an instance starts with a master key
    const keyFile = join(dir, 'legacy.key');
    const mk = newMasterKeyText();
    writeMasterKeyFile(keyFile, [mk]);
    const p = await start(url, keyFile);
    // Then the key is sealed, serves, and the dump no longer has it
    const vk = (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret;
    expect((await fetch(p.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${vk}` } })).status).toBe(200);
    expect(formsIn(pgDump(url), known.secret)).toEqual([]);
    expect((await adminCall(p.adminUrl, 'GET', '/v1/master-key')).body).toMatchObject({
      plaintext: 0,
      sealed_by_master_key: { [keyIdOf(mk)]: 1 },
    });
  });

  it('rotation on a fleet under load: 0 failed calls on either instance; the other instance picks the new key up and keeps writing under it', async () => {
    const url = await freshDatabase(cluster.url, 'atrest_rotate');
    const fileA = join(dir, 'host-a.key');
    const fileB = join(dir, 'host-b.key');
    const oldKey = newMasterKeyText();
    const newKey = newMasterKeyText();
    writeMasterKeyFile(fileA, [oldKey]);
    writeMasterKeyFile(fileB, [oldKey]);
    const fileD = join(dir, 'host-d.key');
    writeMasterKeyFile(fileD, [oldKey]);
    const a = await start(url, fileA);
    const b = await start(url, fileB);
    const d = await start(url, fileD); // its file is never updated
    const serving = sandbox.stripe.createKey('fleet serving');
    expect(
      (
        await adminCall(a.adminUrl, 'POST', '/v1/upstream-keys', {
          vendor: 'stripe',
          secret: serving.secret,
          state: 'active',
        })
      ).status,
    ).toBe(201);
    for (let i = 0; i < 50; i++)
      await adminCall(a.adminUrl, 'POST', '/v1/upstream-keys', {
        vendor: 'openai',
        secret: `sk-fleet-${i}-${'q'.repeat(30)}`,
        state: 'standby',
      });
    const vks = await Promise.all(
      [0, 1, 2, 3].map(
        async () => (await adminCall(a.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret as string,
      ),
    );
    await new Promise((r) => setTimeout(r, 300)); // B has the keys (sync)
    let n = 0;
    const load = agents(() => (n++ % 2 === 0 ? a : b).dataUrl, vks);
    while (load.statuses.length < 60) await new Promise((r) => setTimeout(r, 10));

    // When the operator updates both hosts' key files (new first) and rotates through A
    writeMasterKeyFile(fileA, [newKey, oldKey]);
    writeMasterKeyFile(fileB, [newKey, oldKey]);
    const rotated = await adminCall(a.adminUrl, 'POST', '/v1/master-key/rotate', {});
    const mark = load.statuses.length;
    while (load.statuses.length < mark + 60) await new Promise((r) => setTimeout(r, 10));
    // and B, not yet reloaded, adds a production key: it must be wrapped under the new key too
    const added = await adminCall(b.adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'resend',
      secret: `re_after_rotation_${'r'.repeat(24)}`,
      state: 'standby',
    });
    await load.stop();

    expect(rotated.body).toMatchObject({
      master_key_id: keyIdOf(newKey),
      rewrapped: 51,
      previous_master_key_ids: [keyIdOf(oldKey)],
    });
    expect(load.failures).toEqual([]);
    expect(added.status).toBe(201);
    const kids = await sql<{ master_key_id: string; n: number }>(
      url,
      'SELECT master_key_id, count(*)::int AS n FROM upstream_keys WHERE secret_ct IS NOT NULL GROUP BY 1',
    );
    expect(kids).toEqual([{ master_key_id: keyIdOf(newKey), n: 52 }]);

    // And a host whose source was not updated keeps serving but refuses to write under the old key
    const dCalls = await fetch(d.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${vks[0]}` } });
    expect(dCalls.status).toBe(200);
    const refused = await adminCall(d.adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'resend',
      secret: `re_stale_host_${'s'.repeat(24)}`,
      state: 'standby',
    });
    expect([refused.status, refused.body.error.code]).toEqual([503, 'master_key_outdated']);
    expect(refused.body.error.message).toContain(keyIdOf(newKey));
    // nor can a host start with only the old key
    const stale = await start(url, fileD).catch((e: Error) => e);
    expect(stale instanceof Error ? stale.message : 'started').toContain(
      `encrypted under master key ${keyIdOf(newKey)}`,
    );
  });
});
