import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { startServer, type TestServer } from '../helpers/server.js';
import { isolatedEnv, runInProcess } from '../helpers/cli.js';

/**
 * Contract C1 from the CLI's side, and "the action comes first": a proxy that answers a revoke
 * with 503 revoke_not_durable (it refuses the key, but its store did not keep the revoke), and a
 * state directory that cannot be written while the revoke must still happen.
 */
const TOKEN = 'admin-token-durable-0123456789';
const ID = 'vk_id_durable0001';

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};
const notDurable = (res: ServerResponse) =>
  send(
    res,
    503,
    {
      error: { type: 'tourniquet_error', code: 'revoke_not_durable', message: 'the store did not record the revoke' },
      id: ID,
      refused_here: true,
    },
    { 'retry-after': '0' },
  );

/**
 * An admin API whose DELETE is not durable for the first `failures` attempts (Infinity: never).
 * `durable`: what its 200 says (`'absent'`: the field is left out).
 */
async function proxyWith(failures: number, durable: boolean | 'absent' = true): Promise<TestServer> {
  let deletes = 0;
  let revoked = false;
  const s = await startServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: { code: 'unauthorized' } });
    if (req.method === 'DELETE') {
      if (++deletes <= failures) return notDurable(res);
      revoked = true;
      return send(res, 200, {
        id: ID,
        status: 'revoked',
        effective_at: new Date().toISOString(),
        already_revoked: false,
        durable: durable === 'absent' ? undefined : durable,
        fleet: { confirmed: ['i-1'], unconfirmed: [], waited_ms: 3 },
      });
    }
    if (req.url === '/v1/instances')
      return send(res, 200, { data: [{ instance_id: 'i-1', data_plane_url: s.url, admin_url: s.url }] });
    if (req.url === `/v1/vault-keys/${ID}/verdict`)
      return send(res, 200, {
        instance_id: 'i-1',
        vault_key_id: ID,
        refused: revoked,
        verdict: revoked ? 'vault_key_revoked' : 'allowed',
      });
    send(res, 404, { error: { code: 'not_found', message: req.url } });
  });
  return s;
}

/**
 * A tmpfs mounted with these options (unmount it when done). Mounting needs root: CI runs as
 * root, so there it must work; on a developer's machine without root the test is skipped (the
 * state-directory-is-a-file test covers the same path).
 */
function tmpfs(options: string, ctx: { skip: () => void }): string {
  const mnt = mkdtempSync(join(tmpdir(), 'tq-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mnt], { stdio: 'ignore' });
  } catch {
    if (process.env.CI) throw new Error('CI runs as root: mounting a tmpfs must work there');
    ctx.skip();
  }
  return mnt;
}

const env = (extra: Record<string, string> = {}) =>
  isolatedEnv({ TOURNIQUET_PROXY_URL: srv!.url, TOURNIQUET_ADMIN_TOKEN: TOKEN, ...extra });
const deletes = () => srv!.requests.filter((r) => r.method === 'DELETE').length;

describe('revoke_not_durable (C1)', () => {
  it('repeats the idempotent DELETE until it is durable, then verifies: exit 0', async () => {
    srv = await proxyWith(2);
    const r = await runInProcess(['revoke', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, results: [{ status: 'revoked', verified: true }] });
    expect(deletes()).toBe(3);
  });

  it('never durable: bounded repeats, then exit 6 naming the instance and what to run; never verified', async () => {
    srv = await proxyWith(Infinity);
    const r = await runInProcess(['--deadline', '3s', 'revoke', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(out.error.message).toMatch(
      new RegExp(
        `the proxy at ${srv.url.replace(/[.:/]/g, '\\$&')} refuses ${ID} but could not make the revoke durable \\(revoke_not_durable, \\d+ attempts over`,
      ),
    );
    expect(r.stderr).toMatch(/tourniquet resume inc_\w+/);
    expect(deletes()).toBeGreaterThan(1);
  });
});

describe('a 200 that does not say durable: true is not a revoke (C1, C4)', () => {
  it('"durable": false, repeated: bounded repeats, then exit 6, never verified', async () => {
    srv = await proxyWith(0, false);
    const r = await runInProcess(['--deadline', '3s', 'revoke', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(out.error.message).toMatch(/answered HTTP 200 without "durable": true \(\d+ attempts over/);
    expect(deletes()).toBeGreaterThan(1);
  });

  it('no "durable" at all: an answer of the wrong shape naming the field, exit 1, never verified', async () => {
    srv = await proxyWith(0, 'absent');
    const r = await runInProcess(['revoke', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(false);
    expect(out.error.message).toContain(`DELETE ${srv.url}/v1/vault-keys/${ID}`);
    expect(out.error.message).toContain('no "durable"');
  });
});

describe('roll with revoke_old, not durable at first (C1)', () => {
  it('repeats the same request with the same Idempotency-Key, so no second key is made; then verified', async () => {
    let rolls = 0;
    srv = await startServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return send(res, 401, { error: { code: 'unauthorized' } });
      if (req.method === 'POST' && req.url === `/v1/vault-keys/${ID}/roll`) {
        if (++rolls <= 2)
          return send(
            res,
            503,
            { error: { code: 'revoke_not_durable', message: 'not stored' }, ids: [ID], refused_here: true },
            { 'retry-after': '0' },
          );
        return send(res, 201, {
          id: 'vk_id_rolled0001',
          secret: 'vk_' + 'r'.repeat(40),
          vendor: 'stripe',
          status: 'active',
          expires_at: null,
          rolled_from: ID,
          revoked_old: { id: ID, durable: true, fleet: { confirmed: ['i-1'], unconfirmed: [], waited_ms: 1 } },
        });
      }
      if (req.url === '/v1/instances')
        return send(res, 200, { data: [{ instance_id: 'i-1', data_plane_url: srv!.url, admin_url: srv!.url }] });
      if (req.url === `/v1/vault-keys/${ID}/verdict`)
        return send(res, 200, {
          instance_id: 'i-1',
          vault_key_id: ID,
          refused: rolls > 2,
          verdict: rolls > 2 ? 'vault_key_revoked' : 'allowed',
        });
      send(res, 404, { error: { code: 'not_found', message: req.url } });
    });
    const r = await runInProcess(['roll', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verified: true, new_id: 'vk_id_rolled0001' });
    const keys = srv.requests.filter((q) => q.method === 'POST').map((q) => q.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
  });

  it('a roll answered without revoked_old.durable: true: the old key is not counted revoked (exit 6)', async () => {
    srv = await startServer((req, res) => {
      if (req.method === 'POST' && req.url === `/v1/vault-keys/${ID}/roll`)
        return send(res, 201, {
          id: 'vk_id_rolled0002',
          secret: 'vk_' + 's'.repeat(40),
          vendor: 'stripe',
          status: 'active',
          expires_at: null,
          rolled_from: ID,
        });
      send(res, 404, { error: { code: 'not_found', message: req.url } });
    });
    const r = await runInProcess(['--deadline', '3s', 'roll', ID, '--yes', '--json'], { env: env() });
    expect(r.code, r.stderr).toBe(6);
    expect(JSON.parse(r.stdout).verified).not.toBe(true);
  });
});

describe('the action comes first: a state directory that cannot be written', () => {
  it('still revokes; the journal goes to stderr as JSON lines; the JSON says so; exit 6 with the reason', async () => {
    srv = await proxyWith(0);
    const dir = mkdtempSync(join(tmpdir(), 'tq-ro-'));
    const stateIsAFile = join(dir, 'state');
    writeFileSync(stateIsAFile, 'not a directory');
    const r = await runInProcess(['revoke', ID, '--yes', '--json'], {
      env: env({ TOURNIQUET_STATE_DIR: stateIsAFile }),
    });
    // The revoke happened, and was verified
    expect(deletes()).toBe(1);
    expect(r.code, r.stderr).toBe(6);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toBe(true);
    expect(out.journal).toMatchObject({ saved: false, problem: expect.stringMatching(/ENOTDIR|EEXIST/) });
    // Every journal entry is on stderr, one JSON line each, for the record
    const lines = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(lines.map((e) => e.type)).toEqual(
      expect.arrayContaining(['started', 'step', 'revoked', 'verified', 'finished']),
    );
    expect(lines.every((e) => e.incident_id === out.incident_id)).toBe(true);
    expect(r.stderr).toMatch(/the journal could not be written \((ENOTDIR|EEXIST)/);
    expect(r.stderr + r.stdout).not.toContain(TOKEN);
  });

  it('on a read-only file system (a tmpfs mounted read-only) the same', async (ctx) => {
    srv = await proxyWith(0);
    const mnt = tmpfs('ro,size=1m', ctx);
    try {
      const r = await runInProcess(['revoke', ID, '--yes', '--json'], {
        env: env({ TOURNIQUET_STATE_DIR: join(mnt, 'state') }),
      });
      expect(deletes()).toBe(1);
      expect(r.code, r.stderr).toBe(6);
      expect(JSON.parse(r.stdout).journal).toMatchObject({
        saved: false,
        problem: expect.stringMatching(/EROFS|ENOENT/),
      });
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('a journal that stops being writable half-way (a full disk) keeps the rest on stderr', async (ctx) => {
    srv = await proxyWith(0);
    const mnt = tmpfs('size=64k', ctx);
    try {
      const state = join(mnt, 'state');
      mkdirSync(state);
      // Fill the disk but for a few hundred bytes: the first journal lines fit, the rest do not.
      try {
        writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024 - 4096 + 700));
      } catch {
        /* full already */
      }
      const r = await runInProcess(['revoke', ID, '--yes', '--json'], { env: env({ TOURNIQUET_STATE_DIR: state }) });
      expect(deletes()).toBe(1);
      expect(r.code, r.stderr).toBe(6);
      expect(JSON.parse(r.stdout).journal).toMatchObject({ saved: false, problem: expect.stringMatching(/ENOSPC/) });
      expect(r.stderr).toMatch(/"type":"finished"/);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});
