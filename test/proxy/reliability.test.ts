import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { spawnProxy, type ChildProxy } from './child.js';
import { ADMIN_TOKEN, adminCall } from './helpers.js';

describe('kill -9 under load: every call that reached the vendor has its audit row, every acknowledged revoke holds', () => {
  let sandbox: Sandbox;
  let dir: string;
  let args: string[];
  let env: Record<string, string>;
  beforeAll(async () => {
    sandbox = await startSandbox({ timeScale: 0.001 });
    dir = mkdtempSync(join(tmpdir(), 'tq-kill-'));
    writeFileSync(join(dir, 'admin-token'), ADMIN_TOKEN + '\n', { mode: 0o600 });
    writeFileSync(
      join(dir, 'proxy.yaml'),
      'upstream_keys:\n  - { vendor: stripe, id: up_stripe_main, state: active, secret_env: STRIPE_KEY }\n',
    );
    args = [
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--store',
      `sqlite:${join(dir, 'proxy.db')}`,
      '--admin-token-file',
      join(dir, 'admin-token'),
      '--config',
      join(dir, 'proxy.yaml'),
      '--upstream',
      `stripe=${sandbox.urls.stripe}`,
    ];
    env = { STRIPE_KEY: sandbox.keys.stripe.secret };
  });
  afterAll(async () => {
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function allAuditRows(adminUrl: string): Promise<Map<string, { outcome: string; policy_verdict: string }>> {
    const rows = new Map<string, { outcome: string; policy_verdict: string }>();
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${cursor}` : '';
      const page = await adminCall(adminUrl, 'GET', `/v1/audit?limit=1000${q}`);
      for (const r of page.body.data) rows.set(r.path, r);
      cursor = page.body.next_cursor;
    } while (cursor);
    return rows;
  }

  async function trial(
    n: number,
    sync: 'full' | 'normal',
  ): Promise<{ atVendor: number; answered: number; revokes: number; unknown: number }> {
    const withSync = args.map((a) => (a.startsWith('sqlite:') ? `${a}?sync=${sync}` : a));
    const p: ChildProxy = await spawnProxy(withSync, env);
    const keys: Array<{ id: string; secret: string }> = [];
    for (let i = 0; i < 6; i++)
      keys.push(
        (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe', agent_run_id: `trial_${n}` })).body,
      );
    // Counted where it matters: every call that reached the vendor, by its unique path.
    const atVendor = new Set<string>();
    const onVendor = (req: { url?: string }) => req.url?.includes(`cus_t${n}w`) && atVendor.add(req.url.split('?')[0]!);
    sandbox.stripe.server.prependListener('request', onVendor);
    const answered: string[] = [];
    const acknowledged: string[] = [];
    let stop = false;
    let seq = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const key = keys[(w + seq) % keys.length]!;
        const path = `/v1/customers/cus_t${n}w${w}s${seq++}`;
        try {
          const res = await fetch(p.dataUrl + path, { headers: { authorization: `Bearer ${key.secret}` } });
          await res.text();
          if (res.status !== 401) answered.push(path);
        } catch {
          return; // the proxy is gone: this one was not answered
        }
      }
    };
    const revoker = async () => {
      for (const k of keys.slice(0, 3)) {
        await new Promise((r) => setTimeout(r, 40 + Math.random() * 120));
        try {
          const r = await adminCall(p.adminUrl, 'DELETE', `/v1/vault-keys/${k.id}`);
          if (r.status === 200) acknowledged.push(k.id);
        } catch {
          return;
        }
      }
    };
    const workers = Array.from({ length: 16 }, (_, w) => worker(w));
    void revoker();
    // Let the load build (a slow, busy machine still gets real traffic), then kill at a random moment.
    for (let waited = 0; answered.length < 40 && waited < 10_000; waited += 20)
      await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, Math.random() * 400));
    p.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await p.exited;
    sandbox.stripe.server.off('request', onVendor);

    const q: ChildProxy = await spawnProxy(withSync, env);
    try {
      const rows = await allAuditRows(q.adminUrl);
      // Write-ahead: no call reached the vendor without its row, whatever moment the kill hit.
      const missing = [...atVendor].filter((x) => !rows.has(x));
      expect(missing, `trial ${n}: reached the vendor without an audit row`).toEqual([]);
      // Rows the killed process never completed now say so: forwarded, outcome unknown; none stays pending.
      const mine = [...rows.entries()].filter(([path]) => path.includes(`cus_t${n}w`)).map(([, r]) => r);
      expect(mine.filter((r) => r.outcome === 'pending')).toEqual([]);
      const unknown = mine.filter((r) => r.outcome === 'unknown').length;
      const summary = await adminCall(q.adminUrl, 'GET', `/v1/audit/summary?agent_run_id=trial_${n}`);
      expect(summary.body.outcome_unknown.calls).toBe(unknown);
      for (const id of acknowledged) {
        const rec = await adminCall(q.adminUrl, 'GET', `/v1/vault-keys/${id}`);
        expect(rec.body.status, `trial ${n}: acknowledged revoke of ${id} lost`).toBe('revoked');
        const secret = keys.find((k) => k.id === id)!.secret;
        const res = await fetch(q.dataUrl + '/v1/customers', { headers: { authorization: `Bearer ${secret}` } });
        expect(res.status).toBe(401);
      }
      return { atVendor: atVendor.size, answered: answered.length, revokes: acknowledged.length, unknown };
    } finally {
      q.child.kill('SIGTERM');
      await q.exited;
    }
  }

  it('holds over ten trials at random moments', async () => {
    const results = [];
    // sync=full (fsync per batch) and sync=normal (written, not fsynced): both must survive kill -9.
    for (let n = 0; n < 10; n++) results.push(await trial(n, n % 2 ? 'normal' : 'full'));
    // The load was real: many calls reached the vendor per trial, and revokes landed before the kill.
    expect(
      results.map((r) => r.atVendor).every((n) => n > 20),
      JSON.stringify(results),
    ).toBe(true);
    expect(results.reduce((s, r) => s + r.revokes, 0)).toBeGreaterThan(0);
  }, 240_000);

  it('SIGTERM: finishes, flushes the audit, exits 0', async () => {
    const p = await spawnProxy(args, env);
    const k = (await adminCall(p.adminUrl, 'POST', '/v1/vault-keys', { vendor: 'stripe' })).body;
    const res = await fetch(p.dataUrl + '/v1/customers/cus_sigterm', {
      headers: { authorization: `Bearer ${k.secret}` },
    });
    await res.text();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain('"msg":"proxy stopped"');
    expect(p.stderr()).not.toContain(sandbox.keys.stripe.secret);
    expect(p.stderr()).not.toContain(k.secret);
  }, 30_000);
});
