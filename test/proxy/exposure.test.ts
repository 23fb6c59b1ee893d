import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminExposureWarning, checkDistinctListeners } from '../../src/proxy/exposure.js';
import { runInProcess } from '../helpers/cli.js';
import { spawnProxy } from './child.js';
import { ADMIN_TOKEN } from './helpers.js';

describe('where the proxy listens', () => {
  let dir: string;
  let busy: Server;
  let busyPort = 0;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tq-exposure-'));
    writeFileSync(join(dir, 'token'), ADMIN_TOKEN, { mode: 0o600 });
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((r) => busy.close(r));
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = (listen: string, admin: string, extra: string[] = []) => [
    '--listen',
    listen,
    '--admin-listen',
    admin,
    '--store',
    `sqlite:${join(dir, 'p.db')}`,
    '--admin-token-file',
    join(dir, 'token'),
    ...extra,
  ];

  it('the admin API and the data plane on one port is a usage error (exit 2) naming both flags', async () => {
    for (const [data, admin] of [
      ['127.0.0.1:18788', '127.0.0.1:18788'],
      ['0.0.0.0:18788', '127.0.0.1:18788'],
      ['18788', '[::]:18788'],
    ]) {
      const r = await runInProcess(['proxy', 'serve', ...serve(data!, admin!)]);
      expect(r.code, `${data} ${admin}`).toBe(2);
      expect(r.stderr).toContain('both ask for port 18788');
      expect(r.stderr).not.toContain('internal error');
    }
    expect(() => checkDistinctListeners('127.0.0.1:0', '127.0.0.1:0')).not.toThrow();
    expect(() => checkDistinctListeners('127.0.0.1:9000', '127.0.0.2:9000')).not.toThrow();
  });

  it('an address already in use is a usage error (exit 2), not an internal one', async () => {
    const r = await runInProcess(['proxy', 'serve', ...serve(`127.0.0.1:${busyPort}`, '127.0.0.1:0')]);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining('EADDRINUSE')]);
  });

  it('an admin listener beyond loopback without TLS is warned about at start; loopback or --admin-behind-tls is not', async () => {
    expect(adminExposureWarning('127.0.0.1:8788', false)).toBeNull();
    expect(adminExposureWarning('localhost:8788', false)).toBeNull();
    expect(adminExposureWarning('[::1]:8788', false)).toBeNull();
    expect(adminExposureWarning('10.0.0.5:8788', false)).toContain('beyond loopback');
    expect(adminExposureWarning('0.0.0.0:8788', true)).toBeNull();
    const exposed = await spawnProxy(serve('127.0.0.1:0', '0.0.0.0:0'), {});
    try {
      for (const t0 = Date.now(); !exposed.stderr().includes('"level":"warn"') && Date.now() - t0 < 5_000;)
        await new Promise((r) => setTimeout(r, 20));
      expect(exposed.stderr()).toMatch(/warning: the admin API listens on 0\.0\.0\.0:0, beyond loopback, without TLS/);
      expect(exposed.stderr()).toContain('"level":"warn"');
    } finally {
      exposed.child.kill('SIGTERM');
      await exposed.exited;
    }
    const acknowledged = await spawnProxy(serve('127.0.0.1:0', '0.0.0.0:0', ['--admin-behind-tls']), {});
    acknowledged.child.kill('SIGTERM');
    await acknowledged.exited;
    expect(acknowledged.stderr()).not.toContain('beyond loopback');
  });
});
