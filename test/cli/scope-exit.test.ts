import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProxy, type ChildProxy } from '../proxy/child.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';

/**
 * Contract C3 over every command that calls the admin API: a token the proxy refuses (403
 * insufficient_scope, or 401 for a token it does not know) is exit 3, naming the scope needed,
 * never exit 1 and never the token. A real `proxy serve` with a token file.
 */
describe('a too-weak admin token: exit 3 naming the scope, for every command', () => {
  let dir: string;
  let proxy: ChildProxy;
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
    ['rotate', () => ['rotate', 'openai', '--yes'], 'operate', 'admin'],
    ['keys', () => ['keys'], 'unknown', null],
    ['keys (production-key metadata)', () => ['keys'], 'read', 'admin'],
    ['doctor (its drill issues a key)', () => ['doctor'], 'read', 'admin'],
    ['watch --once', () => ['watch', '--once'], 'unknown', null],
    ['damage --source proxy', () => ['damage', '--source', 'proxy'], 'unknown', null],
  ];

  it.each(table)('%s', async (_name, args, who, scope) => {
    const token = who === 'unknown' ? UNKNOWN : tokens[who]!;
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.adminUrl, TOURNIQUET_ADMIN_TOKEN: token });
    const r = await runInProcess(['--deadline', '30s', ...args()], { env });
    expect(r.code, `${r.code}\n${r.stdout}\n${r.stderr}`).toBe(3);
    if (scope)
      expect(r.stdout + r.stderr).toContain(`needs an admin token with the "${scope}" scope (this token has "${who}")`);
    else expect(r.stderr).toMatch(/401|unauthorized|refused/i);
    expect(r.stderr + r.stdout).not.toContain(token);
    expect(r.stderr).not.toMatch(/this is a bug|internal error/i);
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
