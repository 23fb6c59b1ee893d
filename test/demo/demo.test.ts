import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { BIN, isolatedEnv, runBuilt, runInProcess } from '../helpers/cli.js';
import { Terminal } from '../helpers/tmux.js';

const refused = (url: string) =>
  new Promise<boolean>((resolve) => {
    const u = new URL(url);
    const s = connect(Number(u.port), u.hostname);
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

let term: Terminal | undefined;
afterEach(() => {
  term?.close();
  term = undefined;
});

describe('tourniquet demo, as a script runs it (no terminal)', () => {
  it('--json: both paths measured in the run; revoke leaks at most the call in flight; nothing left behind', async () => {
    // Given an empty temp directory for the demo's store and journal
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    // When the built CLI runs the demo with a deterministic (median) vendor tail
    const r = await runBuilt(['demo', '--json', '--tail-mode', 'median', '--runaway-ms', '800'], { env: isolatedEnv({ TMPDIR: tmp }), timeoutMs: 60_000 });
    // Then it succeeds and prints the documented JSON
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.time_scale).toBe(0.05);
    expect(j.agent_interval_ms).toBe(20);
    for (const k of ['time_to_stop_ms', 'leaked_calls', 'other_consumers_broken']) {
      expect(typeof j.path_a[k]).toBe('number');
      expect(typeof j.path_b[k]).toBe('number');
    }
    expect(j.path_a.stopped && j.path_b.stopped).toBe(true);
    expect(j.path_a.leaked_calls).toBeLessThanOrEqual(1);
    expect(j.path_a.other_consumers_broken).toBe(0);
    expect(j.path_b.other_consumers_broken).toBe(2);
    // Stripe's 45 s median tail × 0.05 = 2.25 s at one call per 20 ms: on the order of 100 leaked refunds
    expect(j.path_b.time_to_stop_ms).toBeGreaterThanOrEqual(2000);
    expect(j.path_b.leaked_calls).toBeGreaterThan(20);
    expect(j.path_b.leaked_calls).toBeGreaterThan(j.path_a.leaked_calls * 20);
    expect(j.incident.verified).toBe(true);
    expect(j.incident.damage.calls_allowed).toBeGreaterThan(0);
    // And nothing is left behind: the temp dir is empty again
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it('without a terminal it narrates on stderr, prints the comparison on stdout, and closes every server', async () => {
    const r = await runInProcess(['demo', '--time-scale', '0.02', '--tail-mode', 'median', '--runaway-ms', '500']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/automatic/);
    expect(r.stderr).toMatch(/Which agent\? → refund-agent/);
    expect(r.stderr).toMatch(/revoke vault key vk_id_\w+/);
    expect(r.stderr).toMatch(/verified: refused by 1 instance/);
    expect(r.stderr).toMatch(/Next\n\s+1\. Tell the agent's runner/);
    expect(r.stdout).toMatch(/The same incident, two ways/);
    expect(r.stdout).toMatch(/other consumers broken\s+0 of 2\s+2 of 2/);
    expect(r.stdout).not.toMatch(/\u001b\[/);
    // The servers it started are gone.
    const urls = [...r.stderr.matchAll(/http:\/\/127\.0\.0\.1:\d+/g)].map((m) => m[0]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    for (const u of urls) expect(await refused(u)).toBe(true);
  }, 60_000);

  it('Ctrl-C (SIGINT) in the middle of the slow path: exit 130, servers stopped, temp dir gone (how fast: npm run bench -- timing)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    const child = spawn(process.execPath, [BIN, 'demo', '--tail-mode', 'p95', '--runaway-ms', '300'], { env: isolatedEnv({ TMPDIR: tmp }) as NodeJS.ProcessEnv });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => child.stderr.on('data', (d) => ((err += d), /key deleted at the vendor/.test(err) && resolve())));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    // Stopped by the demo itself (the message), not by bin's 5-second fallback exit.
    expect(err).toMatch(/cancelled by the operator/);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);

  it('rejects a bad --time-scale with exit 2', async () => {
    const r = await runInProcess(['demo', '--time-scale', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--time-scale/);
  });
});

describe('tourniquet demo at a real terminal (tmux)', () => {
  it('is guided: Enter, Enter, y, Enter revokes and verifies, then the slow path and the comparison', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tq-demo-tmp-'));
    term = new Terminal(`${process.execPath} ${BIN} demo --time-scale 0.02 --tail-mode median --runaway-ms 500`, isolatedEnv({ TERM: 'xterm-256color', NO_COLOR: '1', TMPDIR: tmp }), { width: 120, height: 60 });
    await term.waitFor('What is happening?', 15_000);
    term.send('Enter');
    await term.waitFor('Which agent?');
    term.send('Enter');
    await term.waitFor(/Revoke vk_id_\w+ now\?/);
    term.send('y', 'Enter');
    const screen = await term.waitFor('[exit', 30_000);
    expect(screen).toMatch(/\[exit 0\]/);
    expect(screen).toMatch(/other consumers broken\s+0 of 2\s+2 of 2/);
    expect(readdirSync(tmp)).toEqual([]);
  }, 60_000);
});
