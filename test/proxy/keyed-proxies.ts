import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { ADMIN_TOKEN } from './helpers.js';

/**
 * For the at-rest tests: a sandbox, a temp dir, and proxies on SQLite files with their master key
 * read from a file (as `proxy serve --master-key-file` does), all stopped at the end.
 */
export interface KeyedProxies {
  sandbox: Sandbox;
  dir: string;
  start(db: string, keyFile: string): Promise<RunningProxy>;
  /** A proxy without a master key. */
  startBare(db: string): Promise<RunningProxy>;
  stop(): Promise<void>;
}

export async function keyedProxies(prefix: string): Promise<KeyedProxies> {
  const sandbox = await startSandbox({ timeScale: 0.001 });
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const running: RunningProxy[] = [];
  const launch = async (db: string, masterKey: { from: 'file'; path: string } | null) => {
    const p = await startProxy({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      store: `sqlite:${db}`,
      adminToken: ADMIN_TOKEN,
      masterKey,
      upstreams: sandbox.urls,
      log: false,
      shutdownGraceMs: 200,
    });
    running.push(p);
    return p;
  };
  return {
    sandbox,
    dir,
    start: (db, keyFile) => launch(db, { from: 'file', path: keyFile }),
    startBare: (db) => launch(db, null),
    stop: async () => {
      await Promise.all(running.map((p) => p.stop()));
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
