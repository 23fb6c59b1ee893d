import { describe, expect, it } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreHealth, recheckFreeSpace } from '../../src/proxy/health.js';
import type { ProxyStore } from '../../src/proxy/store/types.js';
import { StoreUnavailableError } from '../../src/proxy/store/types.js';

const full = () => new StoreUnavailableError('database or disk is full', { reason: 'disk_full' });
const down = () => new StoreUnavailableError('connection refused', { reason: 'unavailable' });

describe('store health: which success clears which failure', () => {
  it('a heartbeat that still fits on a full disk does not clear the audit write that did not', () => {
    const h = new StoreHealth();
    h.failed(full(), 'appendAudit');
    h.ok('heartbeat');
    expect(h.failure?.reason).toBe('disk_full');
    h.ok('revokeVaultKeys');
    expect(h.failure?.reason).toBe('disk_full');
    h.ok('appendAudit');
    expect(h.failure).toBeNull();
  });

  it('an audit batch going through clears a full disk seen by smaller writes', () => {
    const h = new StoreHealth();
    h.failed(full(), 'heartbeat');
    h.failed(full(), 'insertVaultKey');
    h.ok('appendAudit');
    expect(h.failure).toBeNull();
  });

  it('any success proves an unreachable store is back', () => {
    const h = new StoreHealth();
    h.failed(down(), 'appendAudit');
    expect(h.failure?.reason).toBe('unavailable');
    h.ok('heartbeat');
    expect(h.failure).toBeNull();
  });

  it('an idle instance measures its volume: room again clears a full disk; a shared store is not measured here', async () => {
    const sqlite = { kind: 'sqlite', path: join(tmpdir(), 'proxy.db') } as unknown as ProxyStore;
    const h = new StoreHealth();
    h.failed(full(), 'appendAudit');
    h.ok('heartbeat');
    await recheckFreeSpace(h, sqlite);
    expect(h.failure).toBeNull();

    const pg = { kind: 'postgres', path: undefined } as unknown as ProxyStore;
    h.failed(full(), 'appendAudit');
    await recheckFreeSpace(h, pg);
    expect(h.failure?.reason).toBe('disk_full');

    h.failed(down(), 'heartbeat');
    await recheckFreeSpace(h, sqlite);
    expect(h.failure?.reason).toBe('unavailable'); // only a full disk is cleared by measured space
  });
});
