import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunningProxy } from '../../src/proxy/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { keyedProxies, type KeyedProxies } from './keyed-proxies.js';
import { SQLITE_SCHEMA } from '../../src/proxy/store/sqlite-schema.js';
import { ADMIN_TOKEN, adminCall, through } from './helpers.js';
import { runInProcess } from '../helpers/cli.js';
import { keyIdOf, newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';
import { findSecret } from '../helpers/secret-forms.js';

const sqliteFiles = (db: string) => [db, `${db}-wal`, `${db}-shm`];

describe('production keys at rest (SQLite)', () => {
  let env: KeyedProxies;
  let sandbox: Sandbox;
  let dir: string;
  beforeAll(async () => {
    env = await keyedProxies('tq-at-rest-');
    ({ sandbox, dir } = env);
  });
  afterAll(async () => {
    await env?.stop();
  });
  const start = (db: string, keyFile: string) => env.start(db, keyFile);
  const serve = (db: string, extra: string[], env: Record<string, string> = {}) =>
    runInProcess(
      [
        'proxy',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${db}`,
        ...extra,
      ],
      {
        env: {
          PATH: process.env.PATH,
          TMPDIR: process.env.TMPDIR,
          TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN,
          HOME: dir,
          TOURNIQUET_CONFIG_DIR: join(dir, 'cfg'),
          ...env,
        },
      },
    );

  /** The stored key serves agents: a call through the proxy reaches the sandbox with it. */
  async function servesWith(p: RunningProxy, stripeKeyId: string): Promise<void> {
    const vk = (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    const before = sandbox.stripe.keys.stats().find((k) => k.id === stripeKeyId)!.calls;
    const r = await through(p.dataUrl, 'GET', '/v1/customers', vk.secret);
    expect(r.status).toBe(200);
    expect(sandbox.stripe.keys.stats().find((k) => k.id === stripeKeyId)!.calls).toBe(before + 1);
  }

  it('a key added through the admin API is in no form a grep of the file finds, and it still serves after a restart', async () => {
    const db = join(dir, 'a.db');
    const keyFile = join(dir, 'a.key');
    const mk = newMasterKeyText();
    writeMasterKeyFile(keyFile, [mk]);
    const known = sandbox.stripe.createKey('stored through the admin API');
    const p = await start(db, keyFile);
    const added = await adminCall(p.adminUrl, 'POST', '/v1/upstream-keys', {
      vendor: 'stripe',
      secret: known.secret,
      state: 'active',
    });
    expect(added.status).toBe(201);
    await servesWith(p, known.id);
    const status = (await adminCall(p.adminUrl, 'GET', '/v1/master-key')).body;
    expect(status).toMatchObject({
      master_key_id: keyIdOf(mk),
      sealed_by_master_key: { [keyIdOf(mk)]: 1 },
      plaintext: 0,
    });
    expect(JSON.stringify(status)).not.toContain(mk);
    // the production-key listing shows a hint, never the key
    expect(JSON.stringify((await adminCall(p.adminUrl, 'GET', '/v1/upstream-keys')).body)).not.toContain(known.secret);
    expect(findSecret(sqliteFiles(db), known.secret)).toEqual([]);
    expect(findSecret(sqliteFiles(db), mk)).toEqual([]); // the master key never enters the file either
    await p.stop();
    expect(findSecret(sqliteFiles(db), known.secret)).toEqual([]);
    // Restart: the key is opened from the file with the same master key, and serves at once
    await servesWith(await start(db, keyFile), known.id);
  });

  it('a wrong master key is exit 3, a missing one exit 2; both say which key the store needs, never print key material', async () => {
    const db = join(dir, 'a.db');
    const wrong = join(dir, 'wrong.key');
    const wrongText = newMasterKeyText();
    writeMasterKeyFile(wrong, [wrongText]);
    const needed = keyIdOf(readFileSync(join(dir, 'a.key'), 'utf8').trim());
    const w = await serve(db, ['--master-key-file', wrong]);
    expect(w.code).toBe(3);
    expect(w.stderr).toContain(`encrypted under master key ${needed}`);
    expect(w.stderr).toContain(keyIdOf(wrongText));
    expect(w.stderr).not.toContain(wrongText);
    const m = await serve(db, []);
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('was given no master key');
    // a master key file others can read is refused with the fix
    writeMasterKeyFile(join(dir, 'loose.key'), [newMasterKeyText()], 0o644);
    const loose = await serve(db, ['--master-key-file', join(dir, 'loose.key')]);
    expect([loose.code, loose.stderr]).toEqual([2, expect.stringContaining(`chmod 600 ${join(dir, 'loose.key')}`)]);
    // not 32 bytes
    writeMasterKeyFile(join(dir, 'short.key'), ['c2hvcnQ=']);
    const short = await serve(db, ['--master-key-file', join(dir, 'short.key')]);
    expect([short.code, short.stderr]).toEqual([2, expect.stringContaining('not 32 bytes')]);
    // from a command (a KMS, vault kv get) and from the environment
    const cmd = await serve(db, ['--master-key-command', `cat ${wrong}`]);
    expect(cmd.code).toBe(3);
    const env = await serve(db, [], { TOURNIQUET_MASTER_KEY: wrongText });
    expect(env.code).toBe(3);
    const failing = await serve(db, ['--master-key-command', 'echo no vault here >&2; exit 4']);
    expect([failing.code, failing.stderr]).toEqual([
      2,
      expect.stringContaining('master key command failed (exit 4): no vault here'),
    ]);
  });

  it('without a master key, a production key is refused (409 master_key_missing), never stored in plain text', async () => {
    const db = join(dir, 'none.db');
    const p = await env.startBare(db);
    const known = sandbox.stripe.createKey('refused');
    const r = await adminCall(p.adminUrl, 'POST', '/v1/upstream-keys', { vendor: 'stripe', secret: known.secret });
    expect([r.status, r.body.error.code]).toEqual([409, 'master_key_missing']);
    expect(r.body.error.message).toContain('--master-key-file');
    expect((await adminCall(p.adminUrl, 'GET', '/v1/upstream-keys')).body.data).toEqual([]);
    await p.stop();
    expect(findSecret(sqliteFiles(db), known.secret)).toEqual([]);
  });

  it('a store written by the previous version (plain text, old copies in free pages) is sealed at start; nothing left to grep', async () => {
    const db = join(dir, 'legacy.db');
    const known = sandbox.stripe.createKey('legacy');
    // Given the previous version's schema and row, churned the way promote/retire rewrote it
    const old = new Database(db);
    old.exec(SQLITE_SCHEMA);
    old
      .prepare(
        `INSERT INTO upstream_keys (id, vendor, state, hint, label, account_sid, secret, created_at, updated_at, revision) VALUES ('up_legacy', 'stripe', 'active', 'sk_…x', 'legacy', NULL, ?, 't', 't', 1)`,
      )
      .run(known.secret);
    for (let i = 0; i < 5; i++)
      old
        .prepare(`UPDATE upstream_keys SET label = ?, updated_at = ? WHERE id = 'up_legacy'`)
        .run('legacy-' + 'x'.repeat(i * 40), `t${i}`);
    // and copies of it on pages that are free now (rows written and deleted by hand, by an operator)
    const copy = old.prepare(
      `INSERT INTO upstream_keys (id, vendor, state, hint, label, account_sid, secret, created_at, updated_at, revision) VALUES (?, 'stripe', 'retired', 'h', ?, NULL, ?, 't', 't', 1)`,
    );
    for (let i = 0; i < 40; i++) copy.run(`up_copy_${i}`, 'y'.repeat(300), known.secret);
    old.exec(`DELETE FROM upstream_keys WHERE id LIKE 'up_copy_%'`);
    old.close();
    expect(findSecret([db], known.secret).length).toBeGreaterThan(0);
    // Without a master key it does not start (exit 2), and says why
    const m = await serve(db, []);
    expect([m.code, m.stderr]).toEqual([2, expect.stringContaining('1 production key(s) in plain text')]);
    // With one, it seals the key at start and serves with it
    const keyFile = join(dir, 'legacy.key');
    writeMasterKeyFile(keyFile, [newMasterKeyText()]);
    const p = await start(db, keyFile);
    await servesWith(p, known.id);
    await p.stop();
    expect(findSecret(sqliteFiles(db), known.secret)).toEqual([]);
  });
});
