import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../src/main.js';
import type { Io } from '../../src/cli/io.js';
import { ADMIN_TOKEN, adminCall } from './helpers.js';

function io(env: Record<string, string | undefined> = {}) {
  const out = { stdout: '', stderr: '' };
  const value: Io = {
    stdout: { write: (s: string) => ((out.stdout += s), true), isTTY: false },
    stderr: { write: (s: string) => ((out.stderr += s), true), isTTY: false },
    stdin: Readable.from([]) as Io['stdin'],
    env: { PATH: process.env.PATH, HOME: mkdtempSync(join(tmpdir(), 'tq-h-')), ...env },
    cwd: process.cwd(),
  };
  return { io: value, out };
}

async function until(cond: () => boolean, ms = 10_000) {
  for (let t = 0; !cond() && t < ms; t += 20) await new Promise((r) => setTimeout(r, 20));
}

describe('tourniquet proxy serve / sandbox (in-process)', () => {
  it('proxy serve without an admin token: exit 2 naming the flag', async () => {
    const { io: i, out } = io();
    const code = await main(
      ['proxy', 'serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--store', 'sqlite::memory:'],
      i,
    );
    expect(code).toBe(2);
    expect(out.stderr).toContain('--admin-token-file');
  });

  it('proxy serve: a bad --upstream and a secret in the config file are usage errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-cli-'));
    writeFileSync(join(dir, 'token'), ADMIN_TOKEN);
    writeFileSync(join(dir, 'cfg.yaml'), 'upstream_keys:\n  - { vendor: stripe, secret: nope }\n');
    const base = [
      'proxy',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--store',
      'sqlite::memory:',
      '--admin-token-file',
      join(dir, 'token'),
    ];
    const a = io();
    expect(await main([...base, '--upstream', 'stripe'], a.io)).toBe(2);
    expect(a.out.stderr).toContain('VENDOR=URL');
    const b = io();
    expect(await main([...base, '--config', join(dir, 'cfg.yaml')], b.io)).toBe(2);
    expect(b.out.stderr).toContain('secret_env or secret_file');
  });

  it('sandbox then proxy serve, both until the signal: a vault key works end to end, exit 0', async () => {
    const stopSandbox = new AbortController();
    const sb = io();
    const sbDone = main(['--json', 'sandbox', '--time-scale', '0.001'], sb.io, stopSandbox.signal);
    await until(() => sb.out.stdout.includes('\n'));
    const { urls, keys } = JSON.parse(sb.out.stdout);
    const dir = mkdtempSync(join(tmpdir(), 'tq-cli-'));
    writeFileSync(join(dir, 'token'), ADMIN_TOKEN);
    writeFileSync(
      join(dir, 'cfg.yaml'),
      'upstream_keys:\n  - { vendor: stripe, state: active, secret_env: STRIPE_KEY }\n',
    );
    const stopProxy = new AbortController();
    const px = io({ STRIPE_KEY: keys.stripe.secret });
    const pxDone = main(
      [
        '--json',
        'proxy',
        'serve',
        '--listen',
        '127.0.0.1:0',
        '--admin-listen',
        '127.0.0.1:0',
        '--store',
        `sqlite:${join(dir, 'p.db')}`,
        '--admin-token-file',
        join(dir, 'token'),
        '--config',
        join(dir, 'cfg.yaml'),
        '--upstream',
        `stripe=${urls.stripe}`,
      ],
      px.io,
      stopProxy.signal,
    );
    await until(() => px.out.stdout.includes('\n'));
    const ready = JSON.parse(px.out.stdout);
    const vk = (await adminCall(ready.admin_url, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    const res = await fetch(`${ready.data_plane_url}/v1/customers`, {
      headers: { authorization: `Bearer ${vk.secret}` },
    });
    expect(res.status).toBe(200);
    stopProxy.abort();
    expect(await pxDone).toBe(0);
    expect(px.out.stderr).toContain('"msg":"request"');
    expect(px.out.stderr).not.toContain(keys.stripe.secret);
    expect(px.out.stderr).not.toContain(vk.secret);
    stopSandbox.abort();
    expect(await sbDone).toBe(0);
  }, 30_000);
});
