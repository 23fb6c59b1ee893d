import { describe, expect, it } from 'vitest';
import { startHarness, through } from './helpers.js';
import { SqliteStore } from '../../src/proxy/store/sqlite.js';
import { pollUntil } from '../helpers/poll.js';

describe('graceful stop', () => {
  it('finishes the call in flight, makes its audit row durable, then refuses new connections', async () => {
    const h = await startHarness({ sandbox: { latencyMs: 300 } });
    const vk = await h.issue({ vendor: 'stripe' });
    const inFlight = through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret);
    await pollUntil('the call in flight at the vendor', () => h.proxy.service.inflight.count() === 1);
    const stopping = h.proxy.stop();
    const r = await inFlight;
    expect(r.status).toBe(200);
    await stopping;
    await expect(fetch(`${h.proxy.dataUrl}/v1/customers`)).rejects.toThrow();
    const store = new SqliteStore(h.dbPath);
    await store.init();
    const rows = await store.queryAudit({ vault_key_id: vk.id }, 10, null);
    await store.close();
    expect(rows.data.map((x) => [x.policy_verdict, x.vendor_status])).toEqual([['allowed', 200]]);
    await h.sandbox.stop();
  });
});
