import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { FastHistogram } from '../../src/proxy/histogram.js';

/**
 * The data plane's histograms are its own (prom-client's observe is slow on the hot path), so
 * prom-client's Histogram is the reference: the same observations must render byte for byte the
 * same, through prom-client's own registry, in the text and the JSON form.
 */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** Values on, just under and just over every bound, below the first and above the last, and zero. */
function values(): number[] {
  const out = [0, 0.0001, 7, 1e9];
  for (const b of BUCKETS) out.push(b, b * 0.999, b * 1.001);
  for (let i = 0; i < 500; i++) out.push(((i * 7919) % 10_007) / 5_000);
  return out;
}

function pair(labelNames: string[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({
    name: 'h_seconds',
    help: 'help "text"\\',
    labelNames,
    buckets: BUCKETS,
    registers: [theirs],
  });
  const fast = new FastHistogram('h_seconds', 'help "text"\\', BUCKETS, labelNames, [ours]);
  return { theirs, ours, reference, fast };
}

describe("FastHistogram renders as prom-client's Histogram does", () => {
  it('without labels', async () => {
    const { theirs, ours, reference, fast } = pair([]);
    expect(await ours.metrics()).toBe(await theirs.metrics()); // empty: every bucket at zero
    for (const v of values()) {
      reference.observe(v);
      fast.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('with labels, several series, values that need escaping', async () => {
    const { theirs, ours, reference, fast } = pair(['vendor', 'kind']);
    const sets = [
      { vendor: 'openai', kind: 'a' },
      { vendor: 'stripe', kind: 'b"c\\d\ne' },
      { vendor: 'openai', kind: 'b' },
    ];
    const series = sets.map((l) => fast.series(l));
    // Handed out but not yet observed: not shown (prom-client's labels() creates nothing either).
    fast.series({ vendor: 'never', kind: 'observed' });
    reference.labels({ vendor: 'never', kind: 'observed' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    values().forEach((v, i) => {
      reference.observe(sets[i % 3]!, v);
      series[i % 3]!.observe(v);
    });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
    // The same labels give the same series.
    fast.series({ vendor: 'openai', kind: 'a' }).observe(0.3);
    reference.observe({ vendor: 'openai', kind: 'a' }, 0.3);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('resets as prom-client does, and refuses what prom-client refuses', async () => {
    const { theirs, ours, reference, fast } = pair([]);
    fast.observe(0.2);
    reference.observe(0.2);
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
    fast.observe(0.02);
    reference.observe(0.02);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const labelled = pair(['vendor']);
    const kept = labelled.fast.series({ vendor: 'openai' });
    kept.observe(0.3);
    labelled.reference.observe({ vendor: 'openai' }, 0.3);
    labelled.ours.resetMetrics();
    labelled.theirs.resetMetrics();
    expect(await labelled.ours.metrics()).toBe(await labelled.theirs.metrics());
    kept.observe(0.004); // a series kept across the reset starts again from zero
    labelled.reference.observe({ vendor: 'openai' }, 0.004);
    expect(await labelled.ours.metrics()).toBe(await labelled.theirs.metrics());
    expect(() => reference.observe(Number.NaN)).toThrow(TypeError);
    expect(() => fast.observe(Number.NaN)).toThrow(TypeError);
    expect(() => new FastHistogram('x', 'x', BUCKETS, ['le'])).toThrow(/reserved/);
    expect(() => new FastHistogram('x', 'x', BUCKETS, ['vendor']).observe(1)).toThrow(/series/);
  });
});
