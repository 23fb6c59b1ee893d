import type { Paint } from './color.js';
import type { Sample } from '../core/watch.js';
import { renderTable } from './table.js';
import { inert, inertJson, inertOr } from '../core/inert.js';
import { multipleText } from './incident.js';
import type { TrendHistory } from './sparkline-live.js';
import { usd } from '../core/money.js';

/** The live table `watch` redraws at a terminal; anomalous keys first and marked. */
export function renderSample(s: Sample, p: Paint, trend?: TrendHistory): string {
  if (s.keys.length === 0) return `${s.at}  no active vault keys at the proxy\n`;
  const table = renderTable(s.keys, [
    { header: '', value: (k) => (k.anomalous ? p.red('!') : ' ') },
    { header: 'agent', value: (k) => inertOr(k.agent, '-'), max: 22 },
    { header: 'vault key', value: (k) => inert(k.vault_key_id) },
    { header: 'vendor', value: (k) => inert(k.vendor) },
    { header: 'calls/min', value: (k) => String(Math.round(k.calls_per_minute)), align: 'right' },
    { header: 'baseline', value: (k) => String(k.baseline_per_minute), align: 'right' },
    { header: 'x', value: (k) => (k.anomalous ? p.red(multipleText(k)) : multipleText(k)), align: 'right' },
    { header: 'spend 10m', value: (k) => usd(k.spend_usd_10m), align: 'right' },
    ...(trend ? [{ header: 'trend', value: (k: Sample['keys'][number]) => trend.line(k.vault_key_id) }] : []),
  ]);
  const head = `${s.at}  ${s.anomalies.length ? p.red(`${s.anomalies.length} above ${s.threshold}x baseline`) : p.green(`all under ${s.threshold}x baseline`)}`;
  return `${head}\n${table}`;
}

/** One JSON line per interval for pipes and log shippers. */
export function sampleLine(s: Sample): string {
  return inertJson({
    at: s.at,
    threshold: s.threshold,
    anomalies: s.anomalies.map((k) => k.vault_key_id),
    keys: s.keys,
  });
}
