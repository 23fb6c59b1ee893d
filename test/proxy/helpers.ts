import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, type ProxyOptions, type RunningProxy } from '../../src/proxy/index.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';
import { testKeyring } from '../helpers/master-key.js';

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

export interface Harness {
  sandbox: Sandbox;
  proxy: RunningProxy;
  dir: string;
  dbPath: string;
  logs: string[];
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** Issue a vault key; returns the API's answer (with `secret`). */
  issue(body: Record<string, unknown>): Promise<any>;
  stop(): Promise<void>;
}

export async function adminCall(adminUrl: string, method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
  const res = await fetch(adminUrl + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Given a sandbox with every vendor and a proxy in front of it, on a fresh SQLite file. */
export async function startHarness(
  opts: { sandbox?: SandboxOptions; proxy?: Partial<ProxyOptions> } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tq-proxy-'));
  const dbPath = join(dir, 'proxy.db');
  const sandbox = await startSandbox({ timeScale: 0.001, tailMode: 'median', ...opts.sandbox });
  const logs: string[] = [];
  const { jsonLog } = await import('../../src/proxy/log.js');
  const proxy = await startProxy({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    store: `sqlite:${dbPath}`,
    adminToken: ADMIN_TOKEN,
    masterKey: testKeyring(),
    upstreams: sandbox.urls,
    log: jsonLog((l) => logs.push(l)),
    upstreamKeys: [
      { vendor: 'stripe', secret: sandbox.keys.stripe.secret, label: 'main', state: 'active' },
      { vendor: 'openai', secret: sandbox.keys.openai.secret, label: 'main', state: 'active' },
      {
        vendor: 'twilio',
        secret: sandbox.keys.twilio.secret,
        account_sid: sandbox.keys.twilio.account_sid,
        label: 'main',
        state: 'active',
      },
      { vendor: 'resend', secret: sandbox.keys.resend.secret, label: 'main', state: 'active' },
    ],
    ...opts.proxy,
  });
  // Refusal rows and outcomes are written after the answer (write-ahead audit): a test reading
  // the audit waits until they are, as a reader a moment later would find them.
  const admin = async (method: string, path: string, body?: unknown) => {
    if (path.startsWith('/v1/audit')) await harness.proxy.audit.drain();
    return adminCall(harness.proxy.adminUrl, method, path, body);
  };
  const harness: Harness = {
    sandbox,
    proxy,
    dir,
    dbPath,
    logs,
    admin,
    issue: async (body) => {
      const r = await admin('POST', '/v1/vault-keys', body);
      if (r.status !== 201) throw new Error(`issue failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    },
    stop: async () => {
      await harness.proxy.stop();
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A raw call through the data plane. */
export async function through(
  dataUrl: string,
  method: string,
  path: string,
  key: string | null,
  body?: string,
  headers: Record<string, string> = {},
) {
  const res = await fetch(dataUrl + path, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      ...headers,
    },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/**
 * A proxy (SQLite in a temp dir, no log) in front of one loopback vendor `server` (listened here on
 * 127.0.0.1:0) holding one production key; `close` stops both and removes the dir.
 */
export async function proxyInFront(
  vendor: string,
  server: Server,
  upstreamKey: Omit<NonNullable<ProxyOptions['upstreamKeys']>[number], 'vendor'>,
): Promise<{ proxy: RunningProxy; close: () => Promise<void> }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), `tq-${vendor}-`));
  const proxy = await startProxy({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    store: `sqlite:${join(dir, 'proxy.db')}`,
    adminToken: ADMIN_TOKEN,
    masterKey: testKeyring(),
    upstreams: { [vendor]: `http://127.0.0.1:${(server.address() as AddressInfo).port}` },
    log: false,
    upstreamKeys: [{ vendor, state: 'active', ...upstreamKey }],
  });
  const close = async () => {
    await proxy.stop();
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { proxy, close };
}
