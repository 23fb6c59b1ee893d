import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { spawnProxy, type ChildProxy } from '../proxy/child.js';
import { ADMIN_TOKEN } from '../proxy/helpers.js';
import { startPg, type PgCluster } from '../helpers/pg.js';

/** Files a `tourniquet proxy serve` child needs: the admin token and a config naming the Stripe key. */
export function childConfigDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tq-child-'));
  writeFileSync(join(dir, 'admin-token'), ADMIN_TOKEN + '\n', { mode: 0o600 });
  writeFileSync(
    join(dir, 'proxy.yaml'),
    'upstream_keys:\n  - { vendor: stripe, id: up_stripe_main, state: active, secret_env: STRIPE_KEY }\n',
  );
  return dir;
}

/** `proxy serve`'s arguments for an instance on `store`, configured from `dir` (childConfigDir), in front of a Stripe at `stripeUrl`. */
export function instanceArgs(store: string, dir: string, stripeUrl: string, extra: string[] = []): string[] {
  return [
    '--listen',
    '127.0.0.1:0',
    '--admin-listen',
    '127.0.0.1:0',
    '--store',
    store,
    '--admin-token-file',
    join(dir, 'admin-token'),
    '--config',
    join(dir, 'proxy.yaml'),
    '--upstream',
    `stripe=${stripeUrl}`,
    ...extra,
  ];
}

/** `tourniquet proxy serve` in its own process, on `store`, in front of the sandbox's Stripe. */
export function spawnInstance(store: string, sandbox: Sandbox, dir: string, extra: string[] = []): Promise<ChildProxy> {
  return spawnProxy(instanceArgs(store, dir, sandbox.urls.stripe, extra), { STRIPE_KEY: sandbox.keys.stripe.secret });
}

/** A PostgreSQL cluster, the sandbox vendors, and proxy processes on them; `stop()` kills and removes it all. */
export interface ChildWorld {
  cluster: PgCluster;
  sandbox: Sandbox;
  children: ChildProxy[];
  /** A child on `url` with its own revoke journal (or the one given). */
  spawn(url: string, journal?: string): Promise<ChildProxy>;
  stop(): Promise<void>;
}

export async function childWorld(): Promise<ChildWorld> {
  const cluster = await startPg();
  const sandbox = await startSandbox({ timeScale: 0.001 });
  const dir = childConfigDir();
  const children: ChildProxy[] = [];
  return {
    cluster,
    sandbox,
    children,
    async spawn(url, journal = mkdtempSync(join(tmpdir(), 'tq-journal-'))) {
      const c = await spawnInstance(url, sandbox, dir, ['--revoke-journal', journal]);
      children.push(c);
      return c;
    },
    async stop() {
      for (const c of children) c.child.kill('SIGKILL');
      await sandbox.stop();
      cluster.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
