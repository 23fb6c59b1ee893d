import type { Registry } from 'prom-client';

/**
 * A Prometheus histogram for the data plane's per-call observations, rendered by prom-client's
 * own registry exactly as its `Histogram` renders (test/proxy/histogram.test.ts compares the two).
 * prom-client's `observe` builds a label object, hashes it and keys buckets by the bound as a
 * property name on every call; on the proxy's hot path that cost more than the request log. Here a
 * series is looked up once (`series()`), and an observation is a short scan of the bounds and
 * three additions.
 */
export interface HistogramSeries {
  observe(value: number): void;
}

interface Series<L extends string> extends HistogramSeries {
  readonly labels: Partial<Record<L, string>>;
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** What prom-client's registry reads from a metric when it renders the text format. */
interface ValuePair {
  value: number;
  metricName: string;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  exemplar?: null;
}

export class FastHistogram<L extends string = never> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly bounds: readonly number[];
  /** Every series handed out, and those observed since the last reset (which are rendered). */
  private readonly made = new Map<string, Series<L>>();
  private readonly all = new Map<string, Series<L>>();
  /** The one series of a histogram without labels. */
  private readonly plain: HistogramSeries | null = null;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
    readonly labelNames: readonly L[] = [],
    registers: Registry[] = [],
  ) {
    if (labelNames.includes('le' as L)) throw new Error('le is a reserved label name');
    this.bounds = [...buckets].sort((a, b) => a - b);
    // prom-client's registry takes any metric with a name and get(); its type admits only its own classes.
    for (const r of registers) r.registerMetric(this as never);
    // prom-client shows a histogram without labels at zero before its first observation.
    if (labelNames.length === 0) this.all.set('', (this.plain = this.series()) as Series<L>);
  }

  /**
   * The series for these label values. Keep it: looking it up costs a string join. As with
   * prom-client's `labels()`, it is rendered from its first observation on.
   */
  series(labels: Partial<Record<L, string>> = {}): HistogramSeries {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let s = this.made.get(key);
    if (!s) {
      const counts = new Float64Array(this.bounds.length);
      const bounds = this.bounds;
      const shown = this.all;
      const made: Series<L> = {
        labels: { ...labels },
        counts,
        sum: 0,
        count: 0,
        observe(value: number) {
          if (!Number.isFinite(value)) throw new TypeError(`${value} is not a number a histogram can observe`);
          if (made.count === 0) shown.set(key, made);
          made.sum += value;
          made.count++;
          for (let i = 0; i < bounds.length; i++)
            if (value <= bounds[i]!) {
              counts[i]!++;
              return;
            }
        },
      };
      this.made.set(key, (s = made));
    }
    return s;
  }

  /** An observation without labels (the histogram must have none). */
  observe(value: number): void {
    if (!this.plain) throw new Error(`${this.name} has labels: observe through series()`);
    this.plain.observe(value);
  }

  /** As prom-client resets: every series gone, until the next observation. */
  reset(): void {
    for (const s of this.made.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.all.clear();
  }

  /** prom-client's text rendering reads this: bucket labels apart from the series' own, as its Histogram gives them. */
  getForPromString(): { name: string; help: string; type: string; values: ValuePair[]; aggregator: string } {
    const values: ValuePair[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.all.values()) {
      const shared = s.labels as Record<string, string>;
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: s.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: shared, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The JSON form (`registry.getMetricsAsJSON()`): labels merged, as prom-client's Histogram gives them. */
  get(): ReturnType<FastHistogram['getForPromString']> {
    const data = this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...v }) => ({
      ...v,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }
}
