import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Sandbox } from '../../src/sandbox/index.js';
import { keyedProxies, type KeyedProxies } from './keyed-proxies.js';
import { ADMIN_TOKEN, adminCall } from './helpers.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { keyIdOf, newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';
import { findSecret } from '../helpers/secret-forms.js';
import { agents } from '../helpers/agents.js';

describe('master-key rotation under load (SQLite, through the CLI)', () => {
  let env: KeyedProxies;
  let sandbox: Sandbox;
  let dir: string;
  beforeAll(async () => {
    env = await keyedProxies('tq-rotate-mk-');
    ({ sandbox, dir } = env);
  });
  afterAll(async () => {
    await env?.stop();
  });
  const start = (db: string, keyFile: string) => env.start(db, keyFile);

  it('re-wraps every stored key with 0 failed calls; then the new key alone opens the store and the old one alone does not', async () => {
    const db = join(dir, 'proxy.db');
    const keyFile = join(dir, 'master.key');
    const oldKey = newMasterKeyText();
    const newKey = newMasterKeyText();
    writeMasterKeyFile(keyFile, [oldKey]);
    const p = await start(db, keyFile);
    const serving = sandbox.stripe.createKey('served during the rotation');
    expect(
      (
        await adminCall(p.adminUrl, 'POST', '/v1/upstream-keys', {
          vendor: 'stripe',
          secret: serving.secret,
          state: 'active',
        })
      ).status,
    ).toBe(201);
    for (let i = 0; i < 150; i++)
      await adminCall(p.adminUrl, 'POST', '/v1/upstream-keys', {
        vendor: 'openai',
        secret: `sk-standby-${i}-${'z'.repeat(30)}`,
        state: 'standby',
      });
    const vks = await Promise.all(
      [0, 1, 2, 3].map(
        async () => (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret as string,
      ),
    );

    // Given agents calling through the proxy all along
    const load = agents(() => p.dataUrl, vks);
    while (load.statuses.length < 40) await new Promise((r) => setTimeout(r, 10));
    // When the operator puts the new key first in the source and runs the rotation
    writeMasterKeyFile(keyFile, [newKey, oldKey]);
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: p.adminUrl, TOURNIQUET_ADMIN_TOKEN: ADMIN_TOKEN });
    const r = await runInProcess(['--json', 'proxy', 'rotate-master-key'], { env });
    const during = load.statuses.length;
    while (load.statuses.length < during + 40) await new Promise((r) => setTimeout(r, 10));
    await load.stop();

    // Then every stored key moved to the new master key, and not one call failed
    expect(r.code, r.stderr).toBe(0);
    for (const k of [oldKey, newKey, serving.secret]) expect(r.stdout + r.stderr).not.toContain(k);
    expect(JSON.parse(r.stdout)).toMatchObject({
      master_key_id: keyIdOf(newKey),
      rewrapped: 151,
      previous_master_key_ids: [keyIdOf(oldKey)],
      by: 'admin',
    });
    expect(load.failures).toEqual([]);
    expect((await adminCall(p.adminUrl, 'GET', '/v1/master-key')).body.sealed_by_master_key).toEqual({
      [keyIdOf(newKey)]: 151,
    });
    // a second rotation has nothing left to do
    expect((await adminCall(p.adminUrl, 'POST', '/v1/master-key/rotate', {})).body.rewrapped).toBe(0);
    await p.stop();
    expect(findSecret([db, `${db}-wal`], serving.secret)).toEqual([]);

    // The new key alone opens the store and serves; the old key alone is exit 3
    writeMasterKeyFile(keyFile, [newKey]);
    const q = await start(db, keyFile);
    const vk = (await adminCall(q.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body.secret;
    expect((await fetch(q.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${vk}` } })).status).toBe(200);
    await q.stop();
    writeMasterKeyFile(join(dir, 'old.key'), [oldKey]);
    const stale = await runInProcess(
      [
        'proxy',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${db}`,
        '--master-key-file',
        join(dir, 'old.key'),
      ],
      { env },
    );
    expect(stale.code).toBe(3);
    expect(stale.stderr).toContain(`151 production key(s) are encrypted under master key ${keyIdOf(newKey)}`);
  });

  it('a rotation the source cannot serve is refused with what to do: no master key (409), an unreadable source (409)', async () => {
    const db = join(dir, 'plain.db');
    const p = await env.startBare(db);
    const none = await adminCall(p.adminUrl, 'POST', '/v1/master-key/rotate', {});
    expect([none.status, none.body.error.message]).toEqual([409, 'this proxy has no master key to rotate']);
    const keyFile = join(dir, 'gone.key');
    writeMasterKeyFile(keyFile, [newMasterKeyText()]);
    const q = await start(join(dir, 'gone.db'), keyFile);
    rmSync(keyFile);
    const gone = await adminCall(q.adminUrl, 'POST', '/v1/master-key/rotate', {});
    expect([gone.status, gone.body.error.code]).toEqual([409, 'master_key_unreadable']);
    expect(gone.body.error.message).toContain('ENOENT');
  });
});
