import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/proxy/store/memory.js';
import { SqliteStore } from '../../src/proxy/store/sqlite.js';
import type { ProxyStore } from '../../src/proxy/store/types.js';

/**
 * The stores answer most calls synchronously, but a failure must still arrive as a rejection,
 * never as a throw from the call itself: callers chain `.catch()` on calls they do not await.
 */
const stores: Array<[string, () => ProxyStore]> = [
  ['memory', () => new MemoryStore()],
  ['sqlite', () => new SqliteStore(':memory:')],
];

describe.each(stores)('%s store: a failure is a rejection, not a throw', (_kind, make) => {
  it('every read of a closed store rejects', async () => {
    const store = make();
    await store.init();
    await store.close();
    const calls: Array<() => Promise<unknown>> = [
      () => store.getVaultKey('vk_1'),
      () => store.listVaultKeys({}),
      () => store.listUpstreamKeys({}),
      () => store.queryAudit({}, 10, null),
      () => store.summarizeAudit({}),
      () => store.spendByVaultKey('2026-01-01'),
      () => store.callsByVaultKey('2026-01-01', '2026-01-02'),
      () => store.changesSince(0),
      () => store.listInstances(),
    ];
    for (const call of calls) {
      let p: Promise<unknown> | undefined;
      expect(() => (p = call())).not.toThrow();
      await expect(p).rejects.toThrow();
    }
  });
});
