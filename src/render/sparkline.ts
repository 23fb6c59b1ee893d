const BARS = '▁▂▃▄▅▆▇█';

/** Sum adjacent values so the series fits `width` characters. */
export function bucket(values: readonly number[], width: number): number[] {
  if (values.length <= width) return [...values];
  const per = Math.ceil(values.length / width);
  const out: number[] = [];
  for (let i = 0; i < values.length; i += per) out.push(values.slice(i, i + per).reduce((a, b) => a + b, 0));
  return out;
}

/** One character per value, scaled to the largest; zero is the lowest bar, never a gap. */
export function sparkline(values: readonly number[], width = 60): string {
  const v = bucket(values, width);
  const max = Math.max(0, ...v);
  if (max === 0) return BARS[0]!.repeat(v.length);
  return v.map((x) => BARS[x === 0 ? 0 : Math.max(1, Math.round((x / max) * (BARS.length - 1)))]!).join('');
}
