import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/core/playbooks.js';
import { estimateLeak } from '../../src/core/estimate.js';
import { parseRate, parseDuration } from '../../src/core/rate.js';
import { TourniquetError } from '../../src/core/errors.js';

describe('estimate', () => {
  it('reproduces seed 002: calls leaked by a rotation at one call per 400 ms', async () => {
    const catalog = await loadCatalog();
    const p95 = (v: string) => estimateLeak(catalog.vendors.get(v)!, parseRate('1/400ms')).rotate!.p95_calls;
    expect({ stripe: p95('stripe'), twilio: p95('twilio'), openai: p95('openai'), resend: p95('resend') }).toEqual({
      stripe: 480,
      twilio: 300,
      openai: 750,
      resend: 12,
    });
  });

  it('gives the median tail too, and a revoke leaks at most what is in flight', async () => {
    const catalog = await loadCatalog();
    const e = estimateLeak(catalog.vendors.get('stripe')!, 2.5, 3);
    expect(e.rotate!.median_calls).toBe(112);
    expect(e.revoke).toEqual({ max_calls: 3, hard_max_calls: 0 });
  });

  it('says unknown, never a figure, for a vendor whose tail nobody measured (Anthropic, Gemini)', async () => {
    const catalog = await loadCatalog();
    for (const v of ['anthropic', 'gemini']) {
      const e = estimateLeak(catalog.vendors.get(v)!, 2.5);
      expect(e.rotate).toBeNull();
      expect(e.revoke.max_calls).toBe(1);
    }
  });

  it.each([
    ['1/400ms', 2.5],
    ['150/min', 2.5],
    ['2.5/s', 2.5],
    ['2.5', 2.5],
    ['10/4s', 2.5],
    ['9000/h', 2.5],
    [' 3 / 1.5 s ', 2],
  ])('reads the rate %s', (text, perSecond) => {
    expect(parseRate(text)).toBeCloseTo(perSecond, 9);
  });

  it.each(['', 'fast', '1/0ms', '0/s', '-1/s', '1/400 parsecs', '1//s'])(
    'refuses the rate %j with a usage error',
    (text) => {
      expect(() => parseRate(text)).toThrow(TourniquetError);
      try {
        parseRate(text);
      } catch (err) {
        expect((err as TourniquetError).exitCode).toBe(2);
      }
    },
  );

  it('reads durations', () => {
    expect(parseDuration('30m', '--since')).toBe(1_800_000);
    expect(parseDuration('45', '--expires-in')).toBe(45_000);
    expect(() => parseDuration('soon', '--since')).toThrow(/--since "soon" is not a duration/);
  });
});
