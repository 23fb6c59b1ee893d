import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, startHarness, through, type Harness } from './helpers.js';
import { addToken } from '../../src/proxy/admin/tokens.js';
import { histogramCount, sample, scrape } from './metrics-scrape.js';

describe('GET /metrics (Prometheus text format, read scope)', () => {
  let h: Harness;
  let reader = '';
  beforeAll(async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'tq-metrics-')), 'tokens');
    reader = (await addToken(file, 'prometheus', 'read')).token;
    h = await startHarness({ proxy: { adminTokens: file } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('counts calls by vendor, verdict and status, with added and vendor latency, audit, store, revocations', async () => {
    const vk = await h.issue({ vendor: 'stripe' });
    for (let i = 0; i < 3; i++)
      expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
    const gone = await h.issue({ vendor: 'stripe' });
    expect((await h.admin('DELETE', `/v1/vault-keys/${gone.id}`)).status).toBe(200);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', gone.secret)).status).toBe(401);
    expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', 'vk_not_a_key_at_all_0000000000')).status).toBe(401);

    const { status, contentType, families, text } = await scrape(h.proxy.adminUrl, reader);
    expect(status).toBe(200);
    expect(contentType).toContain('text/plain');
    expect(sample(families, 'tourniquet_requests_total', { vendor: 'stripe', verdict: 'allowed', status: '200' })).toBe(
      3,
    );
    expect(
      sample(families, 'tourniquet_requests_total', { vendor: 'stripe', verdict: 'vault_key_revoked', status: '401' }),
    ).toBe(1);
    expect(
      sample(families, 'tourniquet_requests_total', { vendor: 'unknown', verdict: 'vault_key_unknown', status: '401' }),
    ).toBe(1);
    expect(families.get('tourniquet_added_latency_seconds')?.type).toBe('HISTOGRAM');
    expect(histogramCount(families, 'tourniquet_added_latency_seconds')).toBe(5);
    expect(families.get('tourniquet_vendor_latency_seconds')?.type).toBe('HISTOGRAM');
    expect(histogramCount(families, 'tourniquet_vendor_latency_seconds')).toBe(3); // stripe only: 3 forwarded calls
    expect(text).toMatch(/^tourniquet_vendor_latency_seconds_count\{vendor="stripe"\} 3$/m);
    expect(histogramCount(families, 'tourniquet_audit_commit_seconds')).toBeGreaterThanOrEqual(1);
    expect(sample(families, 'tourniquet_audit_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(sample(families, 'tourniquet_store_up')).toBe(1);
    // this instance's lag: revisions it has not applied yet; its own writes are caught up by the next sync;
    // the audit queue: rows and outcomes not committed yet
    expect(
      sample(families, 'tourniquet_instance_revision_lag', { instance_id: h.proxy.instanceId }),
    ).toBeGreaterThanOrEqual(0);
    for (let t0 = Date.now(); ;) {
      const again = (await scrape(h.proxy.adminUrl, reader)).families;
      // (outcomes are written without anyone waiting: the queue empties by itself)
      if (
        sample(again, 'tourniquet_instance_revision_lag', { instance_id: h.proxy.instanceId }) === 0 &&
        sample(again, 'tourniquet_audit_queue_depth') === 0
      )
        break;
      if (Date.now() - t0 > 5_000) throw new Error('revision lag or audit queue never went back to 0');
    }
    const synced = sample(families, 'tourniquet_instance_last_sync_timestamp_seconds', {
      instance_id: h.proxy.instanceId,
    })!;
    expect(Math.abs(synced - Date.now() / 1000)).toBeLessThan(60);
    expect(sample(families, 'tourniquet_revocations_total', { mode: 'soft' })).toBe(1);
    expect(sample(families, 'tourniquet_admin_changes_total', { action: 'vault_key.revoke', outcome: 'done' })).toBe(1);
    expect(sample(families, 'tourniquet_budget_lease_held', { kind: 'usd' })).toBe(0);
    expect(families.has('process_cpu_user_seconds_total')).toBe(true);
    // Counted in memory and added at each scrape: the next scrape adds only the calls since.
    for (let i = 0; i < 2; i++)
      expect((await through(h.proxy.dataUrl, 'GET', '/v1/customers', vk.secret)).status).toBe(200);
    const later = (await scrape(h.proxy.adminUrl, reader)).families;
    expect(sample(later, 'tourniquet_requests_total', { vendor: 'stripe', verdict: 'allowed', status: '200' })).toBe(5);
    expect(
      sample(later, 'tourniquet_requests_total', { vendor: 'stripe', verdict: 'vault_key_revoked', status: '401' }),
    ).toBe(1);
    // no secret in the metrics
    for (const s of [vk.secret, gone.secret, ADMIN_TOKEN, reader, h.sandbox.keys.stripe.secret])
      expect(text).not.toContain(s);
  });

  it('needs a token: 401 without one; any scope may read it', async () => {
    expect((await fetch(h.proxy.adminUrl + '/metrics')).status).toBe(401);
    expect((await scrape(h.proxy.adminUrl, ADMIN_TOKEN)).status).toBe(200);
  });
});
