import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProxy, type ChildProxy } from '../proxy/child.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

/**
 * Contract C3 over every command that calls the admin API: a token the proxy refuses (403
 * insufficient_scope, or 401 for a token it does not know) is exit 3, naming the scope needed,
 * never exit 1 and never the token. A real `proxy serve` with a token file.
 */
describe('a too-weak admin token: exit 3 naming the scope, for every command', () => {
  let dir: string;
  let proxy: ChildProxy;
  let sandbox: Sandbox | undefined;
  const tokens: Record<string, string> = {};
  const vaultKeys: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tq-scope-exit-'));
    const file = join(dir, 'admin-tokens');
    writeMasterKeyFile(join(dir, 'master.key'), [newMasterKeyText()]);
    for (const [name, scope] of [
      ['boss', 'admin'],
      ['grafana', 'read'],
      ['oncall', 'operate'],
    ]) {
      const out = join(dir, `${name}.token`);
      const r = await runInProcess([
        'proxy',
        'add-token',
        name!,
        '--scope',
        scope!,
        '--tokens-file',
        file,
        '--token-out',
        out,
      ]);
      expect(r.code, r.stderr).toBe(0);
      tokens[scope!] = readFileSync(out, 'utf8').trim();
    }
    proxy = await spawnProxy(
      [
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${join(dir, 'proxy.db')}`,
        '--admin-tokens',
        file,
        '--master-key-file',
        join(dir, 'master.key'),
      ],
      {},
    );
    // A production key to rotate (the rotation reads the inventory, a view, before its first admin call).
    const up = await fetch(proxy.adminUrl + '/v1/upstream-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vendor: 'stripe', secret: 'sk_live_' + 'A1'.repeat(20), state: 'active', label: 'main' }),
    });
    expect(up.status).toBe(201);
    // The new key is real at a sandboxed Stripe, so the rotation gets as far as its first admin call.
    sandbox = await startSandbox({ timeScale: 0.001, tailMode: 'median' });
    writeFileSync(join(dir, 'new-key.txt'), sandbox.stripe.createKey('rotated').secret + '\n');
    for (let i = 0; i < 3; i++) {
      const res = await fetch(proxy.adminUrl + '/v1/vault-keys', {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
        body: '{"vendor":"stripe"}',
      });
      vaultKeys.push(((await res.json()) as { id: string }).id);
    }
  }, 90_000);
  afterAll(async () => {
    await sandbox?.stop();
    proxy?.child.kill('SIGTERM');
    await proxy?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  const UNKNOWN = 'admin-token-nobody-has-0123456789abcdef';
  // [command, its arguments, the token used, the scope the message must name (null: a 401)]
  const table: Array<[string, () => string[], 'read' | 'operate' | 'unknown', string | null]> = [
    ['revoke', () => ['revoke', vaultKeys[0]!, '--yes'], 'read', 'operate'],
    ['revoke --hard', () => ['revoke', vaultKeys[0]!, '--hard', '--yes'], 'read', 'operate'],
    ['revoke --vendor (revoke-all)', () => ['revoke', '--vendor', 'stripe', '--yes'], 'read', 'operate'],
    ['roll', () => ['roll', vaultKeys[1]!, '--yes'], 'read', 'operate'],
    ['rotate', () => ['rotate', 'stripe', '--new-key-file', join(dir, 'new-key.txt'), '--yes'], 'operate', 'admin'],
    ['keys', () => ['keys'], 'unknown', null],
    ['doctor (its drill issues a key)', () => ['doctor'], 'read', 'admin'],
    ['watch --once', () => ['watch', '--once'], 'unknown', null],
    ['damage --source proxy', () => ['damage', '--source', 'proxy'], 'unknown', null],
  ];

  it.each(table)('%s', async (_name, args, who, scope) => {
    const token = who === 'unknown' ? UNKNOWN : tokens[who]!;
    const env = isolatedEnv({
      TOURNIQUET_PROXY_URL: proxy.adminUrl,
      TOURNIQUET_ADMIN_TOKEN: token,
      TOURNIQUET_STRIPE_BASE_URL: sandbox!.urls.stripe,
    });
    const r = await runInProcess(['--deadline', '30s', ...args()], { env });
    expect(r.code, `${r.code}\n${r.stdout}\n${r.stderr}`).toBe(3);
    if (scope)
      expect(r.stdout + r.stderr).toContain(`needs an admin token with the "${scope}" scope (this token has "${who}")`);
    else expect(r.stderr).toMatch(/401|unauthorized|refused/i);
    expect(r.stderr + r.stdout).not.toContain(token);
    expect(r.stderr).not.toMatch(/this is a bug|internal error/i);
  });

  it('keys (the production-key inventory) is a view: a read token lists it, metadata only, never a secret', async () => {
    const secret = 'sk_live_' + 'Z9'.repeat(20);
    const add = await fetch(proxy.adminUrl + '/v1/upstream-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ vendor: 'stripe', secret, state: 'standby', label: 'inventory' }),
    });
    expect(add.status).toBe(201);
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.adminUrl, TOURNIQUET_ADMIN_TOKEN: tokens.read! });
    const r = await runInProcess(['keys', '--json'], { env });
    expect([0, 7], r.stderr).toContain(r.code);
    expect(r.stdout).toContain('inventory');
    expect(r.stdout + r.stderr).not.toContain(secret);
    expect(r.stdout + r.stderr).not.toContain(secret.slice(8, 30));
  });

  it('--json carries the code and the scope needed', async () => {
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.adminUrl, TOURNIQUET_ADMIN_TOKEN: tokens.read! });
    const r = await runInProcess(['revoke', vaultKeys[2]!, '--yes', '--json'], { env });
    expect(r.code, r.stderr).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(JSON.stringify(out)).toContain('"required_scope":"operate"');
  });
});
