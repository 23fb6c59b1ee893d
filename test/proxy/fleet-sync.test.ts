import { describe, expect, it } from 'vitest';
import { FleetSync } from '../../src/proxy/fleet/sync.js';
import { MemoryStore } from '../../src/proxy/store/memory.js';
import { PolicyState } from '../../src/proxy/state.js';
import type { RequestLog } from '../../src/proxy/log.js';

/** A log whose error path itself fails (a custom log, a broken stderr). */
const throwingLog: RequestLog = {
  request: () => {},
  info: () => {},
  error: () => {
    throw new Error('the log is broken');
  },
};

const self = () => ({ instance_id: 'i-1', data_plane_url: 'http://127.0.0.1:1', admin_url: '', started_at: '' });

describe('fleet sync: work started by timers and notifications never rejects', () => {
  it('a sync whose failure cannot even be logged settles, fails closed and reports failing', async () => {
    // Given a store that is down (closed) and a log that throws
    const store = new MemoryStore();
    await store.close();
    const fleet = new FleetSync({ store, state: new PolicyState(), log: throwingLog, self, shared: true });

    // When a sync runs (as the reconcile timer and a notification start it, unawaited)
    await expect(fleet.trigger(true)).resolves.toBeUndefined();

    // Then it is failing and not fresh: agent traffic is refused, the process lives on
    expect(fleet.failing).toBe(true);
    expect(fleet.fresh()).toBe(false);
  });

  it('a heartbeat whose failure cannot be logged settles too', async () => {
    const store = new MemoryStore();
    await store.close();
    const fleet = new FleetSync({ store, state: new PolicyState(), log: throwingLog, self, shared: true });
    await expect(fleet.heartbeat()).resolves.toBeUndefined();
  });
});
