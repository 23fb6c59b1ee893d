import { describe, expect, it } from 'vitest';
import { runInProcess } from '../helpers/cli.js';

/** decide and estimate treat --rate the same way: the flag's rate, or seed 002's, said to be assumed. */
describe('--rate in decide and estimate', () => {
  const decide = (extra: string[]) =>
    runInProcess(['decide', '-s', 'runaway-loop', '--vendor', 'stripe', '--vault-key', 'vk_id_x', ...extra]);
  const estimate = (extra: string[]) => runInProcess(['estimate', '--vendor', 'stripe', ...extra]);

  it("without --rate, both assume seed 002's 1/400ms and say so, in text and in JSON", async () => {
    const [d, e] = await Promise.all([decide(['--json']), estimate(['--json'])]);
    expect(d.code, d.stderr).toBe(0);
    expect(e.code, e.stderr).toBe(0);
    const dj = JSON.parse(d.stdout);
    const ej = JSON.parse(e.stdout);
    expect(dj.rate).toEqual({ text: '1/400ms', per_s: 2.5, assumed: true });
    expect(ej.rate).toEqual(dj.rate);
    expect(dj.leak_estimate.rotate).toEqual(ej.rotate);
    for (const r of await Promise.all([decide([]), estimate([])]))
      expect(r.stdout).toMatch(
        /at 2\.5 calls\/s \(one every 400 ms\), assumed: seed 002's runaway agent; pass --rate for yours/,
      );
  });

  it('with --rate, both use it and nothing is assumed', async () => {
    const [d, e] = await Promise.all([
      decide(['--rate', '150/min', '--json']),
      estimate(['--rate', '150/min', '--json']),
    ]);
    expect(JSON.parse(d.stdout).rate).toEqual({ text: '150/min', per_s: 2.5, assumed: false });
    expect(JSON.parse(e.stdout).rate).toEqual({ text: '150/min', per_s: 2.5, assumed: false });
    const t = await estimate(['--rate', '10/s']);
    expect(t.stdout).not.toMatch(/assumed/);
    expect(t.stdout).toMatch(/about 450 calls at the median tail/);
  });

  it('a bad rate is exit 2 in both, naming the flag', async () => {
    for (const r of await Promise.all([decide(['--rate', 'fast']), estimate(['--rate', 'fast'])])) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--rate "fast" is not a rate/);
    }
  });
});
