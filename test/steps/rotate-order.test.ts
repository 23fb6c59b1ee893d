import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { Journal } from '../../src/core/journal.js';
import { runSteps } from '../../src/core/steps/engine.js';
import { callRecorder, createStepEnv } from '../../src/core/steps/env.js';
import { rotateSteps } from '../../src/core/actions/rotate.js';
import { finalStatus } from '../../src/core/actions/session.js';
import type { ProxyAdapter, UpstreamKeySummary } from '../../src/adapters/proxy/types.js';
import type { VendorAdapter } from '../../src/vendors/types.js';

/** An in-memory proxy that records every change, so the order of a rotation can be asserted. */
function memoryProxy(dataPlaneUrl: string) {
  const log: string[] = [];
  const keys = new Map<string, UpstreamKeySummary>([
    ['up_old', { id: 'up_old', vendor: 'openai', state: 'active', hint: 'sk-…old', label: null }],
  ]);
  let n = 0;
  const proxy = {
    kind: 'memory',
    capabilities: {
      hardRevoke: true,
      revokeAllUnder: true,
      issue: true,
      roll: true,
      probe: true,
      upstreamKeys: true,
      audit: true,
    },
    describe: (op: string) => op,
    listUpstreamKeys: async () => [...keys.values()].map((k) => ({ ...k })),
    addUpstreamKey: async (i: { vendor: string }) => {
      const k = { id: `up_new${++n}`, vendor: i.vendor, state: 'standby', hint: 'sk-…new', label: null };
      keys.set(k.id, k);
      log.push(`add ${k.id}`);
      return k;
    },
    promoteUpstreamKey: async (id: string) => {
      for (const k of keys.values()) if (k.state === 'active') k.state = 'standby';
      keys.get(id)!.state = 'active';
      log.push(`promote ${id}`);
      return keys.get(id)!;
    },
    retireUpstreamKey: async (id: string) => {
      keys.get(id)!.state = 'retired';
      log.push(`retire ${id}`);
      return keys.get(id)!;
    },
    instances: async () => [{ instance_id: 'i1', data_plane_url: dataPlaneUrl }],
    issueVaultKey: async () => ({
      id: `vk_probe${++n}`,
      secret: `vk_probesecret${n}xxxxxxxx`,
      vendor: 'openai',
      expires_at: null,
    }),
    revokeVaultKey: async (id: string) => ({ status: 'revoked' as const, vault_key_id: id, effective_at: '' }),
    audit: async () => [],
  } as unknown as ProxyAdapter;
  return { proxy, keys, log };
}

const vendor = {
  vendor: 'openai',
  displayName: 'OpenAI',
  capabilities: { create: true, delete: true, verify: true },
  guidance: () => [],
  createKey: async () => ({ id: 'svc_new', secret: 'sk-svcacct-newnewnewnewnew', hint: 'sk-svcacct-…wnew' }),
  deleteKey: async (id: string) => ({ status: 'deleted' as const, id }),
  probe: async () => ({ accepted: true, status: 200, ms: 1 }),
  plan: () => [],
} as unknown as VendorAdapter;

describe('rotation order and rollback', () => {
  let dataPlane: TestServer;
  beforeAll(async () => {
    // The proxy cannot reach the vendor with the new key: every proxied call is a 502
    dataPlane = await startServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":{"code":"upstream_unavailable"}}');
    });
  });
  afterAll(async () => dataPlane.close());

  it('a new key that fails through the proxy is retired; the old key is never touched', async () => {
    const { proxy, keys, log } = memoryProxy(dataPlane.url);
    const steps = rotateSteps(
      { vendor: 'openai', watchOldKey: false, tailTimeoutMs: 1000, tailIntervalMs: 10 },
      { proxy, vendor, probePath: '/v1/models', readNewKey: async () => '', register: () => {} },
    );
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-order-')));
    const env = createStepEnv({
      journal,
      recorder: callRecorder(),
      dryRun: false,
      signal: new AbortController().signal,
      log: () => {},
      confirm: async () => {},
    });
    const report = await runSteps({ steps, env, journal, rollbackOnFailure: true });
    expect(report.status).toBe('rolled-back');
    expect(finalStatus(report)).toBe('rolled-back');
    expect(log).toEqual(['add up_new1', 'retire up_new1']);
    expect(keys.get('up_old')!.state).toBe('active');
    expect(report.steps.map((s) => s.state)).toEqual([
      'done',
      'rolled-back',
      'unverified',
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
      'pending',
    ]);
  });

  it('audit rows that do not carry the new key after the promote: the old key is re-promoted, the new one retired', async () => {
    const ok = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"data":[]}');
    });
    try {
      const { proxy, keys, log } = memoryProxy(ok.url);
      (proxy as any).audit = async () => [{ policy_verdict: 'allowed', upstream_key_id: 'up_old', vendor_status: 200 }];
      const steps = rotateSteps(
        { vendor: 'openai', watchOldKey: false, tailTimeoutMs: 1000, tailIntervalMs: 10 },
        { proxy, vendor, probePath: '/v1/models', readNewKey: async () => '', register: () => {} },
      );
      const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-order-')));
      const env = createStepEnv({
        journal,
        recorder: callRecorder(),
        dryRun: false,
        signal: new AbortController().signal,
        log: () => {},
        confirm: async () => {},
      });
      const report = await runSteps({ steps, env, journal, rollbackOnFailure: true });
      expect(finalStatus(report)).toBe('rolled-back');
      expect(log).toEqual(['add up_new1', 'promote up_new1', 'promote up_old', 'retire up_new1']);
      expect(keys.get('up_old')!.state).toBe('active');
      expect(log.some((l) => l === 'retire up_old')).toBe(false);
    } finally {
      await ok.close();
    }
  });
});

describe('an interrupted new-key step leaves nothing behind', () => {
  it('a key created at the vendor (and added as standby) before a kill is deleted and retired on the retry', async () => {
    const { proxy, keys, log } = memoryProxy('http://127.0.0.1:1');
    const deleted: string[] = [];
    const v = {
      ...vendor,
      deleteKey: async (id: string) => (deleted.push(id), { status: 'deleted' as const, id }),
    } as unknown as VendorAdapter;
    const journal = Journal.create(mkdtempSync(join(tmpdir(), 'tq-leftover-')));
    // Given a journal where the previous process created a key, added it, and was killed
    journal.append('step', {
      step: 'rotate:inspect',
      phase: 'finished',
      outcome: 'done',
      detail: '',
      outputs: { old_upstream_key_id: 'up_old', old_vendor_key_id: null },
    });
    journal.append('step', { step: 'rotate:new-key', phase: 'started' });
    journal.append('note', { leftover_of: 'rotate:new-key', vendor_key_id: 'svc_orphan' });
    keys.set('up_orphan', { id: 'up_orphan', vendor: 'openai', state: 'standby', hint: '', label: null });
    journal.append('note', { leftover_of: 'rotate:new-key', upstream_key_id: 'up_orphan' });
    const steps = rotateSteps(
      { vendor: 'openai', watchOldKey: false, tailTimeoutMs: 10, tailIntervalMs: 10 },
      { proxy, vendor: v, probePath: '/v1/models', readNewKey: async () => '', register: () => {} },
    );
    const env = createStepEnv({
      journal,
      recorder: callRecorder(),
      dryRun: false,
      signal: new AbortController().signal,
      log: () => {},
      confirm: async () => {},
    });
    // When the new-key step runs again
    await steps[1]!.run(env);
    // Then the orphan is gone at the vendor and retired at the proxy, and a fresh key was added
    expect(deleted).toEqual(['svc_orphan']);
    expect(keys.get('up_orphan')!.state).toBe('retired');
    expect(log).toContain('add up_new1');
  });
});
