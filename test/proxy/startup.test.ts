import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy } from '../../src/proxy/index.js';
import { TourniquetError } from '../../src/core/errors.js';
import { ADMIN_TOKEN } from './helpers.js';

const base = { listen: '127.0.0.1:0', adminListen: '127.0.0.1:0', adminToken: ADMIN_TOKEN, log: false as const };

async function startError(opts: Parameters<typeof startProxy>[0]): Promise<TourniquetError> {
  const err = await startProxy(opts).then(
    (p) => (void p.stop(), new Error('started')),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TourniquetError);
  return err as TourniquetError;
}

describe('a proxy that cannot start says why, with exit 1, never as a bug', () => {
  it('PostgreSQL unreachable: the store named without its password', async () => {
    const err = await startError({ ...base, store: 'postgres://tourniquet:pw-s3cret-value@127.0.0.1:1/tourniquet' });
    expect([err.exitCode, err.data?.reason]).toEqual([1, 'unavailable']);
    expect(err.message).toMatch(/^cannot start the proxy: postgres:\/\/…@127\.0\.0\.1:1\/tourniquet is unavailable/);
    expect(err.message + (err.hint ?? '')).not.toContain('pw-s3cret-value');
  });

  it('a revoke journal directory that cannot be made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-start-'));
    writeFileSync(join(dir, 'a-file'), 'x');
    const err = await startError({
      ...base,
      store: `sqlite:${join(dir, 'proxy.db')}`,
      revokeJournal: join(dir, 'a-file', 'journal'),
    });
    expect([err.exitCode, err.data?.reason]).toEqual([1, 'io']);
    expect(err.hint).toMatch(/--revoke-journal/);
  });

  it('a store path that is a directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tq-start-'));
    const err = await startError({ ...base, store: `sqlite:${dir}` });
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/^cannot start the proxy: /);
  });
});
