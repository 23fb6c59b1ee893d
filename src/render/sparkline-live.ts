import { sparkline } from './sparkline.js';

/** The last few samples of each key's calls/min, for the trend column of `watch`'s live table. */
export class TrendHistory {
  private readonly series = new Map<string, number[]>();

  constructor(private readonly width = 16) {}

  add(id: string, value: number): void {
    const s = this.series.get(id) ?? [];
    s.push(value);
    if (s.length > this.width) s.shift();
    this.series.set(id, s);
  }

  line(id: string): string {
    const s = this.series.get(id) ?? [];
    return s.length ? sparkline(s, this.width) : '';
  }
}
