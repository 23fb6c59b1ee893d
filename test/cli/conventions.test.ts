import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isolatedEnv, runBuilt } from '../helpers/cli.js';

const ESC = '\u001b[';

describe('the CLI as a script sees it (built, child process, no TTY)', () => {
  it.each([
    ['scenarios', ['scenarios', '--json']],
    ['decide', ['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', '--json']],
    ['estimate', ['estimate', '--vendor', 'twilio', '--rate', '150/min', '--json']],
    ['config list', ['config', 'list', '--json']],
  ])('%s --json prints valid JSON on stdout and nothing else', async (_name, args) => {
    const r = await runBuilt(args);
    expect(r.code).toBe(0);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('never prompts without a terminal: exit 2 naming the flag', async () => {
    const r = await runBuilt(['decide', '--scenario', 'runaway-loop']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing vendor: pass --vendor/);
    expect(r.stdout).toBe('');
    const s = await runBuilt(['decide']);
    expect(s.code).toBe(2);
    expect(s.stderr).toMatch(/pass --scenario/);
  });

  it('puts the error on stdout as JSON too when --json is given', async () => {
    const r = await runBuilt(['estimate', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { kind: 'usage', exit_code: 2, flag: '--vendor' } });
  });

  it('has no colour when piped, nor with NO_COLOR or TERM=dumb even when colour is forced', async () => {
    const args = ['decide', '--scenario', 'production-key-exposed', '--vendor', 'stripe', '--no-proxy'];
    const forced = await runBuilt(args, { env: isolatedEnv({ FORCE_COLOR: '1' }) });
    expect(forced.stdout).toContain(ESC); // the check below can fail
    for (const env of [{}, { FORCE_COLOR: '1', NO_COLOR: '1' }, { FORCE_COLOR: '1', TERM: 'dumb' }]) {
      const r = await runBuilt(args, { env: isolatedEnv(env) });
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).not.toContain(ESC);
    }
    const flag = await runBuilt([...args, '--no-color'], { env: isolatedEnv({ FORCE_COLOR: '1' }) });
    expect(flag.stdout).not.toContain(ESC);
  });

  it.each([
    ['an unknown command', ['panic'], 2],
    ['an unknown flag', ['decide', '--frobnicate'], 2],
    ['an unknown scenario', ['decide', '--scenario', 'panic', '--vendor', 'stripe'], 2],
    ['an unknown vendor', ['estimate', '--vendor', 'acme', '--rate', '1/s'], 2],
    ['a bad rate', ['estimate', '--vendor', 'stripe', '--rate', 'fast'], 2],
    ['a profile that does not exist', ['scenarios', '--profile', 'nope'], 2],
  ])('exits 2 on %s, with a message and no stack trace', async (_what, args, code) => {
    const r = await runBuilt(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(/^tourniquet: /m);
    expect(r.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  });

  it('refuses a secret on argv without echoing it', async () => {
    const secret = 'sk_live_51Habcdefghijklmnop9f3a';
    const r = await runBuilt(['decide', '--scenario', 'runaway-loop', '--vendor', 'stripe', `--vault-key=${secret}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/never takes secrets on argv/);
    expect(r.stdout + r.stderr).not.toContain(secret);
  });

  it('exits 2 naming file and line for a malformed team playbook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-pb-'));
    writeFileSync(
      join(dir, 'ours.yaml'),
      'id: ours\ntitle: Ours\nsummary: x\naction: revoke\nsteps:\n  - kind: explode\n    target: x\n    reason: y\n',
    );
    const r = await runBuilt(['scenarios'], { env: isolatedEnv({ TOURNIQUET_PLAYBOOKS: dir }) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ours\.yaml:6: steps\[0\]\.kind: must be one of/);
  });

  it('prints help and the exit-code table with no arguments, and --version', async () => {
    const r = await runBuilt([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Exit codes:/);
    expect((await runBuilt(['--version'])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('config and profiles', () => {
  it('shows where each value comes from: flag > env > profile > default', async () => {
    const env = isolatedEnv();
    expect((await runBuilt(['config', 'set', 'proxy_url', 'http://profile.example:8788'], { env })).code).toBe(0);
    const fromProfile = JSON.parse((await runBuilt(['config', 'list', '--json'], { env })).stdout);
    expect(fromProfile.settings).toContainEqual({
      key: 'proxy_url',
      value: 'http://profile.example:8788',
      source: 'profile',
      origin: 'default',
    });
    expect(fromProfile.settings).toContainEqual(
      expect.objectContaining({ key: 'state_dir', source: 'env', origin: 'TOURNIQUET_STATE_DIR' }),
    );
    const withEnv = { ...env, TOURNIQUET_PROXY_URL: 'http://env.example:8788' };
    const fromEnv = JSON.parse((await runBuilt(['config', 'get', 'proxy_url', '--json'], { env: withEnv })).stdout);
    expect(fromEnv).toEqual({
      key: 'proxy_url',
      value: 'http://env.example:8788',
      source: 'env',
      origin: 'TOURNIQUET_PROXY_URL',
    });
    const file = JSON.parse((await runBuilt(['config', 'list', '--json'], { env })).stdout).file;
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('keeps profiles apart and switches with `config use`', async () => {
    const env = isolatedEnv();
    await runBuilt(['config', 'set', 'proxy_url', 'http://prod:8788', '--profile', 'prod'], { env });
    expect((await runBuilt(['config', 'get', 'proxy_url'], { env })).stdout).toBe('');
    expect((await runBuilt(['config', 'use', 'prod'], { env })).code).toBe(0);
    expect((await runBuilt(['config', 'get', 'proxy_url'], { env })).stdout.trim()).toBe('http://prod:8788');
    expect((await runBuilt(['config', 'use', 'staging'], { env })).code).toBe(2);
  });

  it('refuses to store a secret that does not start like a key: one inside a value, a password in a URL', async () => {
    const env = isolatedEnv();
    const bare = await runBuilt(['config', 'set', 'admin_token_file', 'sk_live_abcdefghijklmnop'], { env });
    const cases = [
      ['admin_token_file', '/etc/tq/old-sk_live_abcdefghijklmnop.txt'],
      ['proxy_url', 'https://ops:Hunter2Hunter2@proxy.internal:8788'],
      ['audit_source', 'postgres://audit:Sup3rS3cretPw@db.internal/audit'],
    ];
    for (const [key, value] of cases) {
      const r = await runBuilt(['config', 'set', key!, value!], { env });
      expect(r.code, `${key} ${value}`).toBe(2);
      // The same message as for a bare key, and the value never echoed.
      expect(r.stderr).toBe(bare.stderr);
      expect(r.stdout + r.stderr).not.toContain(value!.includes('Hunter2') ? 'Hunter2' : 'Sup3rS3cret');
    }
    const file = join(env.TOURNIQUET_CONFIG_DIR!, 'config.json');
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* never written: fine */
    }
    for (const leaked of ['abcdefghijklmnop', 'Hunter2', 'Sup3rS3cretPw']) expect(text).not.toContain(leaked);
  });
});
