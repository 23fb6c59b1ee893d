import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** A /metrics scrape parsed with a port of Prometheus's own text-format parser. */
export interface Family {
  name: string;
  type: string;
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }>;
}

export async function scrape(
  adminUrl: string,
  token: string,
): Promise<{ status: number; contentType: string | null; families: Map<string, Family>; text: string }> {
  const res = await fetch(adminUrl + '/metrics', { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  const families = new Map<string, Family>();
  if (res.status === 200) for (const f of parsePrometheusTextFormat(text) as Family[]) families.set(f.name, f);
  return { status: res.status, contentType: res.headers.get('content-type'), families, text };
}

/** The sample of a family whose labels include `labels`. */
export function sample(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const m = families.get(name)?.metrics.find((x) => Object.entries(labels).every(([k, v]) => x.labels?.[k] === v));
  return m ? Number(m.value) : undefined;
}

/**
 * A histogram's count: its `+Inf` bucket. (This parser folds the label sets of a labelled
 * histogram into one, so tests that read one keep a single label set in it.)
 */
export function histogramCount(families: Map<string, Family>, name: string): number | undefined {
  const m = families.get(name)?.metrics[0];
  return m?.buckets ? Number(m.buckets['+Inf']) : undefined;
}
