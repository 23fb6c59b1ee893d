import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Sandbox } from '../../src/sandbox/index.js';
import { pollUntil } from '../helpers/poll.js';

/**
 * Shared by the fault tests: agents whose every call has a unique path, the vendor's own count
 * of the calls that reached it, and a process holding a SQLite file's write lock.
 */
export interface AgentOutcome {
  path: string;
  /** The vault key the call carried. */
  key: string;
  status: number;
  code: string | null;
  /** performance.now() when sent and when answered. */
  sentAt: number;
  at: number;
}

/** Forwarded and answered: the sandbox answers 404 for the made-up customer ids of these paths. */
export const forwarded = (o: { status: number; code: string | null }) =>
  o.status === 404 && o.code === 'resource_missing';

export async function agentCall(url: string, secret: string, path: string): Promise<AgentOutcome> {
  const sentAt = performance.now();
  const key = secret;
  try {
    const res = await fetch(url + path, { headers: { authorization: `Bearer ${secret}` } });
    const text = await res.text();
    let code: string | null = null;
    try {
      code = (JSON.parse(text) as { error?: { code?: string } }).error?.code ?? null;
    } catch {
      code = null;
    }
    return { path, key, status: res.status, code, sentAt, at: performance.now() };
  } catch {
    return { path, key, status: 0, code: null, sentAt, at: performance.now() };
  }
}

/** Agents calling through `url()` until stopped, each call on a path of its own (`/v1/customers/cus_<tag>_<n>`). */
export function agents(
  url: () => string | null,
  secrets: () => string[],
  tag: string,
  opts: { concurrency?: number; pauseMs?: number } = {},
) {
  const outcomes: AgentOutcome[] = [];
  let stop = false;
  let seq = 0;
  const one = async () => {
    while (!stop) {
      const u = url();
      const s = secrets();
      if (u && s.length)
        outcomes.push(
          await agentCall(u, s[Math.floor(Math.random() * s.length)]!, `/v1/customers/cus_${tag}_${seq++}`),
        );
      await new Promise((r) => setTimeout(r, opts.pauseMs ?? 2));
    }
  };
  const running = Array.from({ length: opts.concurrency ?? 4 }, one);
  return {
    outcomes,
    stop: async () => {
      stop = true;
      await Promise.all(running);
    },
  };
}

/**
 * An open-loop agent: a call every `everyMs` whether or not earlier ones were answered (as a
 * fleet of agents behind a load balancer sends them), so calls keep arriving while an instance
 * is paused.
 */
export function openLoop(url: () => string, secret: string, tag: string, everyMs = 10) {
  const outcomes: AgentOutcome[] = [];
  const pending = new Set<Promise<void>>();
  let seq = 0;
  const timer = setInterval(() => {
    const p = agentCall(url(), secret, `/v1/customers/cus_${tag}_${seq++}`).then((o) => void outcomes.push(o));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  }, everyMs);
  return {
    outcomes,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

/** Every path that reached the sandbox's Stripe (its own count), for calls whose tag starts with `tag`, with when it arrived. */
export function vendorCount(sandbox: Sandbox, tag: string) {
  const seen = new Set<string>();
  const arrivals = new Map<string, number>();
  const on = (req: { url?: string }) => {
    if (!req.url?.includes(`cus_${tag}`)) return;
    const path = req.url.split('?')[0]!;
    seen.add(path);
    arrivals.set(path, performance.now());
  };
  sandbox.stripe.server.prependListener('request', on);
  return { seen, arrivals, stop: () => void sandbox.stripe.server.off('request', on) };
}

/** Paths of the vendor's count that have no audit row: must be empty. */
export function missingRows(seen: Set<string>, rowPaths: Iterable<string>): string[] {
  const have = new Set(rowPaths);
  return [...seen].filter((p) => !have.has(p));
}

/** Another process holding the SQLite file's write lock (BEGIN IMMEDIATE) until `release()`. */
export async function lockSqlite(path: string): Promise<{ release(): Promise<void>; child: ChildProcess }> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const src = `const D = require(${JSON.stringify(driver)}); const db = new D(${JSON.stringify(path)});
    db.exec('BEGIN IMMEDIATE'); process.stdout.write('locked\\n');
    process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', src], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)));
  });
  return {
    child,
    release: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.write('go\n');
      }),
  };
}

/** Poll until `fn` says true (the shared poll helper, with a generous bound for a loaded machine). */
export async function until(what: string, fn: () => boolean | Promise<boolean>, limitMs = 20_000): Promise<void> {
  await pollUntil(what, fn, { timeoutMs: limitMs, everyMs: 25 });
}
