import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN, isolatedEnv } from '../helpers/cli.js';

/** `tourniquet sandbox` runs until stopped: Ctrl-C is the operator's cancel (exit 130), SIGTERM a supervisor's stop (0). */
async function start() {
  const child = spawn(process.execPath, [BIN, 'sandbox', '--json'], { env: isolatedEnv() });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve) => child.stderr.on('data', () => /Ctrl-C stops them/.test(err) && resolve()));
  return { child, exited, out: () => out, err: () => err };
}

describe('tourniquet sandbox, stopped', () => {
  it('with Ctrl-C says so and exits 130 (cancelled by the operator)', async () => {
    const s = await start();
    expect(JSON.parse(s.out()).urls.stripe).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    s.child.kill('SIGINT');
    expect(await s.exited).toBe(130);
    expect(s.err()).toMatch(/sandbox stopped \(Ctrl-C\)/);
  }, 30_000);

  it('with SIGTERM (a supervisor stopping it) says so and exits 0', async () => {
    const s = await start();
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    expect(s.err()).toMatch(/sandbox stopped \(SIGTERM\)/);
  }, 30_000);
});
