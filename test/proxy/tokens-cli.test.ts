import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnProxy, type ChildProxy } from './child.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';
import { newMasterKeyText, writeMasterKeyFile } from '../helpers/master-key.js';

const get = async (adminUrl: string, token: string, path = '/v1/health') =>
  (await fetch(adminUrl + path, { headers: { authorization: `Bearer ${token}` } })).status;

async function until(what: string, check: () => Promise<boolean>, limitMs = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the admin token file: add-token, SIGHUP reload, refused when others can read it', () => {
  let dir: string;
  let file: string;
  let proxy: ChildProxy | undefined;
  const addToken = async (name: string, scope: string) => {
    const out = join(dir, `${name}.token`);
    const r = await runInProcess([
      'proxy',
      'add-token',
      name,
      '--scope',
      scope,
      '--tokens-file',
      file,
      '--token-out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    return readFileSync(out, 'utf8').trim();
  };
  const serveArgs = () => [
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
  ];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tq-tokens-cli-'));
    file = join(dir, 'admin-tokens');
    writeMasterKeyFile(join(dir, 'master.key'), [newMasterKeyText()]);
  });
  afterAll(async () => {
    proxy?.child.kill('SIGTERM');
    await proxy?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('add-token writes only a hash (file 0600) and the token once (0600); the proxy accepts it by name and scope', async () => {
    const boss = await addToken('boss', 'admin');
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^boss admin sha256:[0-9a-f]{64}$/m);
    expect(text).not.toContain(boss);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'boss.token')).mode & 0o777).toBe(0o600);
    const dup = await runInProcess(['proxy', 'add-token', 'boss', '--scope', 'read', '--tokens-file', file]);
    expect([dup.code, dup.stderr]).toEqual([2, expect.stringContaining('already')]);
    proxy = await spawnProxy(serveArgs(), {});
    expect(await get(proxy.adminUrl, boss)).toBe(200);
  });

  it('a token added while the proxy runs works after SIGHUP, not before; a bad file at reload keeps the loaded tokens', async () => {
    const p = proxy!;
    const reader = await addToken('grafana', 'read');
    expect(await get(p.adminUrl, reader)).toBe(401);
    p.child.kill('SIGHUP');
    await until('the new token accepted', async () => (await get(p.adminUrl, reader)) === 200);
    await until('the reload logged', async () => p.stderr().includes('admin tokens reloaded'));
    // Then the file becomes readable by others, and a broken line is added: the reload is refused
    chmodSync(file, 0o644);
    p.child.kill('SIGHUP');
    await until('the refused reload logged', async () => p.stderr().includes('admin token file not reloaded'));
    expect(p.stderr()).toContain('chmod 600');
    expect(await get(p.adminUrl, reader)).toBe(200);
    chmodSync(file, 0o600);
  });

  it('a token without the scope: exit 3 naming the scope needed (issue needs admin); revoke names operate', async () => {
    const p = proxy!;
    const boss = readFileSync(join(dir, 'boss.token'), 'utf8').trim();
    const reader = readFileSync(join(dir, 'grafana.token'), 'utf8').trim();
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: p.adminUrl, TOURNIQUET_ADMIN_TOKEN: reader });
    const issue = await runInProcess(['issue', '--vendor', 'stripe'], { env });
    expect(issue.code, issue.stderr).toBe(3);
    expect(issue.stderr).toContain('needs an admin token with the "admin" scope (this token has "read")');
    expect(issue.stderr).toContain('--scope admin');
    const issued = await fetch(p.adminUrl + '/v1/vault-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${boss}`, 'content-type': 'application/json' },
      body: '{"vendor":"stripe"}',
    });
    const vk = (await issued.json()) as { id: string };
    // (the exit code of a refused step inside revoke is i11's mapping; the message is this issue's)
    const r = await runInProcess(['revoke', vk.id, '--yes'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('needs an admin token with the "operate" scope (this token has "read")');
    expect(r.stderr + r.stdout + issue.stderr + issue.stdout).not.toContain(reader);
  });

  it('who revoked: the operate token that did it is named in the timeline and the postmortem', async () => {
    const p = proxy!;
    const boss = readFileSync(join(dir, 'boss.token'), 'utf8').trim();
    const oncall = await addToken('oncall-alice', 'operate');
    p.child.kill('SIGHUP');
    await until('the oncall token accepted', async () => (await get(p.adminUrl, oncall)) === 200);
    const issued = await fetch(p.adminUrl + '/v1/vault-keys', {
      method: 'POST',
      headers: { authorization: `Bearer ${boss}`, 'content-type': 'application/json' },
      body: '{"vendor":"stripe"}',
    });
    const vk = (await issued.json()) as { id: string };
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: p.adminUrl, TOURNIQUET_ADMIN_TOKEN: oncall });
    const r = await runInProcess(['--json', 'revoke', vk.id, '--yes'], { env });
    expect(r.code, r.stderr).toBe(0);
    const incident = JSON.parse(r.stdout).incident_id as string;
    const timeline = await runInProcess(['timeline', incident], { env });
    expect(timeline.stdout).toContain(`revoked ${vk.id} by oncall-alice`);
    const pm = await runInProcess(['--json', 'postmortem', incident], { env });
    expect(pm.code, pm.stderr).toBe(0);
    expect(JSON.parse(pm.stdout).revoked.by).toBe('oncall-alice');
  });

  it('a token file readable by group or others is refused at start: exit 2, with the chmod that fixes it', async () => {
    const other = join(dir, 'loose-tokens');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(other, readFileSync(file, 'utf8'), { mode: 0o640 });
    chmodSync(other, 0o640);
    const r = await runInProcess([
      'proxy',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--store',
      `sqlite:${join(dir, 'other.db')}`,
      '--admin-tokens',
      other,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('readable by group or others');
    expect(r.stderr).toContain(`chmod 600 ${other}`);
  });
});
