import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { isolatedEnv, runBuilt, runInProcess } from '../helpers/cli.js';
import { json, startServer, type TestServer } from '../helpers/server.js';

/**
 * Bad input of every class gets a clear error with its documented exit code, naming the file
 * (and line) or the flag; never a stack trace, never "internal error" (the suite-wide count of
 * those is checked in test/global-setup.ts).
 */
const tmp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));
const PLAYBOOK =
  'id: ours\ntitle: Ours\nsummary: a team scenario\naction: revoke-vault-key\nneeds: [vendor, vault_key]\nsteps:\n  - kind: revoke-vault-key\n    target: "{vault_key}"\n    reason: stop it\n';

function teamDir(files: Record<string, string | Buffer>): string {
  const dir = tmp('tq-team-');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
const scenarios = (dir: string) =>
  runInProcess(['scenarios', '--json'], { env: isolatedEnv({ TOURNIQUET_PLAYBOOKS: dir }) });
const clean = (r: { stdout: string; stderr: string }) =>
  expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+/);

describe('playbooks: limits and encodings, exit 2 naming the file (and line)', () => {
  it('a YAML alias bomb', async () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(10)
          .fill(`*${'abcdefghi'[i - 1]}`)
          .join(', ')}]`,
      );
    const dir = teamDir({ 'bomb.yaml': levels.join('\n') + '\n' });
    const r = await scenarios(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, 'bomb.yaml'));
    expect(r.stderr).toMatch(/bomb\.yaml:\d+: YAML: .*alias/i);
    clean(r);
  });

  it('a directory named x.yaml, and a symbolic link that loops', async () => {
    const dir = teamDir({});
    mkdirSync(join(dir, 'x.yaml'));
    symlinkSync(join(dir, 'loop.yaml'), join(dir, 'loop.yaml'));
    const r = await scenarios(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'x.yaml')}: is a directory, not a playbook file`);
    expect(r.stderr).toContain(`${join(dir, 'loop.yaml')}: is a symbolic link that loops`);
    clean(r);
  });

  it('a 50 MB playbook is refused by its size, before it is read', async () => {
    const dir = teamDir({ 'huge.yaml': '' });
    truncateSync(join(dir, 'huge.yaml'), 50 * 1024 * 1024);
    const r = await scenarios(dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/huge\.yaml: is 52428800 bytes; a playbook may be at most 262144/);
  });

  it('Latin-1 bytes are not UTF-8: the file and the line; a UTF-8 byte-order mark is fine', async () => {
    const latin1 = Buffer.concat([
      Buffer.from('id: ours\ntitle: Caf'),
      Buffer.from([0xe9]),
      Buffer.from(PLAYBOOK.split('\n').slice(2).join('\n')),
    ]);
    const bad = await scenarios(teamDir({ 'ours.yaml': latin1 }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ours\.yaml:2: is not UTF-8 text/);
    const bom = await scenarios(
      teamDir({ 'ours.yaml': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(PLAYBOOK)]) }),
    );
    expect(bom.code, bom.stderr).toBe(0);
    expect(JSON.parse(bom.stdout).map((s: any) => s.id)).toContain('ours');
  });

  it('a team vendors.yaml may add a vendor, but replaces a built-in one only with override: true', async () => {
    const facts = (extra = '') =>
      `vendors:\n  stripe:\n    title: Stripe (ours)\n    rotation_latency_s: { median: 1, p95: 2 }\n    keys: { create: api, delete: api }\n    auth: { scheme: bearer }\n${extra}`;
    const added = await runInProcess(['estimate', '--vendor', 'acme', '--rate', '1/400ms', '--json'], {
      env: isolatedEnv({ TOURNIQUET_PLAYBOOKS: teamDir({ 'vendors.yaml': facts().replace('stripe:', 'acme:') }) }),
    });
    expect(added.code, added.stderr).toBe(0);
    const silent = await runInProcess(['estimate', '--vendor', 'stripe', '--rate', '1/400ms', '--json'], {
      env: isolatedEnv({ TOURNIQUET_PLAYBOOKS: teamDir({ 'vendors.yaml': facts() }) }),
    });
    expect(silent.code).toBe(2);
    expect(silent.stderr).toMatch(
      /vendors\.yaml: vendors\.stripe: vendor "stripe" is built in; add "override: true" to replace it/,
    );
    const builtin = JSON.parse(
      (await runInProcess(['estimate', '--vendor', 'stripe', '--rate', '1/400ms', '--json'], { env: isolatedEnv() }))
        .stdout,
    );
    const replaced = await runInProcess(['estimate', '--vendor', 'stripe', '--rate', '1/400ms', '--json'], {
      env: isolatedEnv({ TOURNIQUET_PLAYBOOKS: teamDir({ 'vendors.yaml': facts('    override: true\n') }) }),
    });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).not.toEqual(builtin);
  });

  it('a team playbook with a built-in id: an error, unless it says override: true', async () => {
    const mine = PLAYBOOK.replace('id: ours', 'id: runaway-loop').replace('title: Ours', 'title: Our runaway loop');
    const clash = await scenarios(teamDir({ 'loop.yaml': mine }));
    expect(clash.code).toBe(2);
    expect(clash.stderr).toMatch(
      /loop\.yaml:1: id: id "runaway-loop" is already defined by .*runaway-loop\.yaml; add "override: true"/,
    );
    const over = await scenarios(teamDir({ 'loop.yaml': mine + 'override: true\n' }));
    expect(over.code, over.stderr).toBe(0);
    expect(JSON.parse(over.stdout).find((s: any) => s.id === 'runaway-loop').title).toBe('Our runaway loop');
  });
});

describe('the config file: checked on read and on set; reading never writes', () => {
  const withConfig = (text: string | null, extra: Record<string, string> = {}) => {
    const env = isolatedEnv(extra);
    mkdirSync(env.TOURNIQUET_CONFIG_DIR!, { recursive: true });
    if (text !== null) writeFileSync(join(env.TOURNIQUET_CONFIG_DIR!, 'config.json'), text);
    return env;
  };

  it('config.json is a directory: exit 2 naming it, for config and for revoke', async () => {
    const env = withConfig(null);
    mkdirSync(join(env.TOURNIQUET_CONFIG_DIR!, 'config.json'));
    for (const args of [
      ['config', 'list'],
      ['config', 'set', 'proxy_url', 'http://p:8788'],
      ['revoke', 'vk_id_1', '--yes'],
    ]) {
      const r = await runInProcess(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`the config file ${join(env.TOURNIQUET_CONFIG_DIR!, 'config.json')} is a directory`);
      clean(r);
    }
  });

  it('a corrupt file: config set says so and leaves it as it was', async () => {
    const env = withConfig('{"profiles": {"default": {"proxy_url": "http://a:1"}');
    const r = await runInProcess(['config', 'set', 'proxy_url', 'http://p:8788'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/config\.json is not valid JSON/);
    expect(readFileSync(join(env.TOURNIQUET_CONFIG_DIR!, 'config.json'), 'utf8')).toBe(
      '{"profiles": {"default": {"proxy_url": "http://a:1"}',
    );
  });

  it('proxy_url: 42, an unknown key, timeout_ms: -5: exit 2 naming the profile and the key', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ proxy_url: 42 }, /profile "default": proxy_url is 42: not a URL/],
      [{ proxy_ur: 'http://p:8788' }, /profile "default": unknown setting "proxy_ur"/],
      [{ timeout_ms: -5 }, /profile "default": timeout_ms is "-5": not a whole number of milliseconds/],
      [
        { proxy_url: 'https://ops:Hunter2Hunter2@p:8788' },
        /profile "default": proxy_url holds a secret \(a password in a URL\)/,
      ],
    ];
    for (const [values, says] of cases) {
      const env = withConfig(JSON.stringify({ profiles: { default: values } }));
      const r = await runInProcess(['revoke', 'vk_id_1', '--yes'], { env });
      expect(r.code, JSON.stringify(values)).toBe(2);
      expect(r.stderr).toMatch(says);
      expect(r.stderr).not.toContain('Hunter2');
    }
  });

  it('config set refuses unknown keys and bad values, writes 0600 in a 0700 directory; config list writes nothing', async () => {
    const env = isolatedEnv();
    const list = await runInProcess(['config', 'list'], { env });
    expect(list.code).toBe(0);
    expect(existsSync(env.TOURNIQUET_CONFIG_DIR!)).toBe(false);
    expect((await runInProcess(['config', 'set', 'proxy_ur', 'http://p:8788'], { env })).code).toBe(2);
    expect((await runInProcess(['config', 'set', 'timeout_ms', '-5'], { env })).stderr).toMatch(
      /timeout_ms is "-5": not a whole number/,
    );
    expect((await runInProcess(['config', 'set', 'trusted_instances', 'ftp://x'], { env })).stderr).toMatch(
      /trusted_instances is "ftp:\/\/x": "ftp:\/\/x" is not an origin pattern/,
    );
    expect(existsSync(env.TOURNIQUET_CONFIG_DIR!)).toBe(false);
    expect((await runInProcess(['config', 'set', 'timeout_ms', '4000'], { env })).code).toBe(0);
    expect(statSync(env.TOURNIQUET_CONFIG_DIR!).mode & 0o777).toBe(0o700);
    expect(statSync(join(env.TOURNIQUET_CONFIG_DIR!, 'config.json')).mode & 0o777).toBe(0o600);
  });

  it('a config directory that cannot be written: a clear error, no stack', async () => {
    const file = join(tmp('tq-cfgfile-'), 'plain-file');
    writeFileSync(file, '');
    const r = await runInProcess(['config', 'set', 'proxy_url', 'http://p:8788'], {
      env: isolatedEnv({ TOURNIQUET_CONFIG_DIR: join(file, 'tourniquet') }),
    });
    expect([1, 2]).toContain(r.code);
    expect(r.stderr).toMatch(
      /config file .*plain-file\/tourniquet\/config\.json (cannot be read \(ENOTDIR\)|: ENOTDIR)/,
    );
    clean(r);
  });

  it('a bad value in the environment: exit 2 naming the variable', async () => {
    const r = await runInProcess(['revoke', 'vk_id_1', '--yes'], {
      env: isolatedEnv({
        TOURNIQUET_PROXY_URL: 'http://p:8788',
        TOURNIQUET_ADMIN_TOKEN: 'x'.repeat(20),
        TOURNIQUET_TIMEOUT_MS: '-5',
      }),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TOURNIQUET_TIMEOUT_MS is "-5"/);
  });
});

describe('JWKs: size and curve checked locally, nothing sent', () => {
  let api: TestServer;
  beforeAll(async () => {
    api = await startServer((_req, res) => json(res, 500, { error: 'no request was expected' }));
  });
  afterAll(async () => api.close());

  const rotate = (file: string) =>
    runInProcess(['agent', 'rotate-dpop-key', 'agent_1', '--jwk-file', file, '--yes'], {
      env: isolatedEnv({
        TOURNIQUET_AGENTS_API_URL: api.url,
        TOURNIQUET_AGENTS_API_KEY: 'agents-admin-key-0123456789',
      }),
    });

  it('a 10 MB "JWK" and a point off the P-256 curve: exit 2, no call made', async () => {
    const dir = tmp('tq-jwk-');
    writeFileSync(
      join(dir, 'big.jwk'),
      JSON.stringify({
        kty: 'EC',
        crv: 'P-256',
        x: 'A'.repeat(43),
        y: 'A'.repeat(43),
        pad: 'x'.repeat(10 * 1024 * 1024),
      }),
    );
    const good = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    writeFileSync(join(dir, 'off.jwk'), JSON.stringify({ ...good, y: Buffer.alloc(32, 7).toString('base64url') }));
    const big = await rotate(join(dir, 'big.jwk'));
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/invalid JWK: \d+ characters; a public JWK is at most 16384/);
    const off = await rotate(join(dir, 'off.jwk'));
    expect(off.code).toBe(2);
    expect(off.stderr).toMatch(/invalid JWK: the point \(x, y\) is not on the P-256 curve/);
    expect(api.requests).toEqual([]);
  });
});

describe('secrets inside free text: refused with the bare-key message, nothing sent or stored', () => {
  let proxy: TestServer;
  beforeAll(async () => {
    proxy = await startServer((_req, res) => json(res, 500, { error: { code: 'unexpected' } }));
  });
  afterAll(async () => proxy.close());

  it("in --reason, in an --endpoint pattern, in a URL's password; as the built CLI sees them", async () => {
    const env = isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.url, TOURNIQUET_ADMIN_TOKEN: 'admin-token-free-text-01234' });
    const bare = await runBuilt(['revoke', 'sk_live_51Habcdefghijklmnop9f3a', '--yes'], { env });
    expect(bare.code).toBe(2);
    const cases = [
      ['revoke', 'vk_id_1', '--reason', 'pasted by mistake: sk_live_51Habcdefghijklmnop9f3a', '--yes'],
      ['issue', '--vendor', 'stripe', '--endpoint', 'POST /v1/refunds/sk-proj-abcdefghijklmnopqrst'],
      ['damage', '--source', 'postgres://audit:Sup3rS3cretPw@db.internal/audit'],
      ['config', 'set', 'webhook_url', 'https://hooks:Sup3rS3cretPw@hooks.example/T0'],
    ];
    for (const args of cases) {
      const r = await runBuilt(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toBe(bare.stderr);
      expect(r.stdout + r.stderr).not.toMatch(/abcdefghijklmnop|Sup3rS3cretPw/);
    }
    expect(proxy.requests).toEqual([]);
  });
});

describe('the registry scrubs what goes to the proxy and to the journal', () => {
  it('a known secret typed as a label or a reason (not shaped like a key, so argv lets it through) is sent and journaled as its hint', async () => {
    const token = 'admin-token-label-check-0123456789';
    const proxy = await startServer((req, res) => {
      if (req.method === 'POST')
        return json(res, 201, {
          id: 'vk_id_new00001',
          secret: 'vk_' + 'n'.repeat(40),
          vendor: 'stripe',
          status: 'active',
          expires_at: null,
        });
      if (req.method === 'DELETE')
        return json(res, 200, {
          id: 'vk_id_1',
          status: 'revoked',
          effective_at: new Date().toISOString(),
          already_revoked: false,
          durable: true,
        });
      if (req.url === '/v1/instances')
        return json(res, 200, { data: [{ instance_id: 'i-1', data_plane_url: proxy.url, admin_url: proxy.url }] });
      return json(res, 200, {
        instance_id: 'i-1',
        vault_key_id: 'vk_id_1',
        refused: true,
        verdict: 'vault_key_revoked',
      });
    });
    try {
      const env = isolatedEnv({ TOURNIQUET_PROXY_URL: proxy.url, TOURNIQUET_ADMIN_TOKEN: token });
      expect(
        (await runInProcess(['issue', '--vendor', 'stripe', '--agent', `bot ${token}`, '--json'], { env })).code,
      ).toBe(0);
      const sent = JSON.parse(proxy.requests.find((r) => r.method === 'POST')!.body);
      expect(sent.labels.agent).toBe('bot …6789');
      const r = await runInProcess(
        ['revoke', 'vk_id_1', '--reason', `token ${token} was in the logs`, '--yes', '--json'],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const journal = readFileSync(
        join(env.TOURNIQUET_STATE_DIR!, 'incidents', JSON.parse(r.stdout).incident_id, 'journal.jsonl'),
        'utf8',
      );
      expect(journal).toContain('token …6789 was in the logs');
      expect(journal).not.toContain(token);
    } finally {
      await proxy.close();
    }
  });
});

describe('--deadline', () => {
  it('a value that is not a duration is exit 2 naming the flag', async () => {
    const r = await runInProcess(['--deadline', 'soon', 'revoke', 'vk_id_1', '--yes'], { env: isolatedEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--deadline "soon" is not a duration/);
  });
});

describe('a secret a server echoes back is scrubbed, end to end', () => {
  it('the admin token quoted in a 401 and in a 500 never reaches the output whole', async () => {
    const token = 'admin-token-echoed-back-0123456789';
    const echo = await startServer((req, res) =>
      req.method === 'DELETE'
        ? json(res, 401, {
            error: {
              code: 'unauthorized',
              message: `token ${String(req.headers.authorization).slice(7)} is not valid here`,
            },
          })
        : json(res, 500, { error: { code: 'boom', message: `failed for ${String(req.headers.authorization)}` } }),
    );
    try {
      const env = isolatedEnv({ TOURNIQUET_PROXY_URL: echo.url, TOURNIQUET_ADMIN_TOKEN: token });
      const revoke = await runBuilt(['revoke', 'vk_id_1', '--yes', '--json'], { env });
      expect(revoke.code).toBe(3);
      const watch = await runBuilt(['watch', '--once', '--json'], { env });
      expect(watch.code).toBe(1);
      for (const r of [revoke, watch]) {
        expect(r.stdout + r.stderr).not.toContain(token);
        expect(r.stdout + r.stderr).toContain('…6789');
      }
    } finally {
      await echo.close();
    }
  });
});

describe('agent-controlled text is inert in text, Markdown and CSV, intact in JSON', () => {
  const hostile = 'cus_\u001b]0;pwned\u0007\u001b[2J\u001b[31mRED\rX\u009b1m\u202eevil';
  it('damage from a JSONL file, in every format', async () => {
    const dir = tmp('tq-esc-');
    const row = {
      started_at: '2026-11-21T02:14:00.000Z',
      vault_key_id: 'vk_id_1',
      agent_run_id: 'run_\u001b[1mX',
      customer_scope_id: hostile,
      vendor: 'stripe',
      method: 'POST',
      path: '/v1/refunds\u001b[K',
      policy_verdict: 'allowed',
      vendor_status: 200,
      cost_usd_parsed: 5,
      upstream_key_id: null,
      latency_ms: 10,
    };
    writeFileSync(join(dir, 'audit.jsonl'), JSON.stringify(row) + '\n');
    const base = ['damage', '--source', join(dir, 'audit.jsonl'), '--refunds', join(dir, 'refunds.csv')];
    const env = isolatedEnv({ TZ: 'UTC' });
    for (const format of ['text', 'md']) {
      const r = await runInProcess([...base, '--format', format], { env });
      expect(r.code, r.stderr).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(r.stdout, format).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
      // (the text table cuts the cell at 44 characters)
      expect(r.stdout).toContain(
        format === 'md'
          ? 'cus_\\x1b\\]0;pwned\\x07\\x1b\\[2J\\x1b\\[31mRED\\x0dX\\x9b1m\\u202eevil'
          : 'cus_\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mRED\\x0dX',
      );
    }
    expect(readFileSync(join(dir, 'refunds.csv'), 'utf8')).not.toMatch(
      // eslint-disable-next-line no-control-regex -- the control characters the CSV must not carry
      /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/,
    );
    const j = await runInProcess([...base, '--json'], { env });
    // eslint-disable-next-line no-control-regex
    expect(j.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(j.stdout).customers[0].customer_scope_id).toBe(hostile);
  });

  it('watch --once: an agent label from the proxy', async () => {
    const rates = await startServer((_req, res) =>
      json(res, 200, {
        data: [
          {
            vault_key_id: 'vk_id_1',
            agent: `refunder\u001b]52;c;${Buffer.from('rm -rf ~').toString('base64')}\u0007`,
            agent_run_id: null,
            vendor: 'stripe',
            status: 'active',
            calls_per_minute: 60,
            baseline_per_minute: 1,
            spend_usd_10m: 1,
          },
        ],
        at: new Date().toISOString(),
      }),
    );
    try {
      const r = await runInProcess(['watch', '--once'], {
        env: isolatedEnv({ TOURNIQUET_PROXY_URL: rates.url, TOURNIQUET_ADMIN_TOKEN: 'admin-token-watch-0123456789' }),
      });
      expect(r.code, r.stderr).toBe(7);
      expect(r.stdout).toContain('refunder\\x1b]52;c;');
      // eslint-disable-next-line no-control-regex
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    } finally {
      await rates.close();
    }
  });
});
