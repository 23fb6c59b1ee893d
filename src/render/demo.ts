import type { Paint } from './color.js';
import type { PathResult } from '../core/demo/measure.js';
import { renderTable } from './table.js';
import { fmtMs } from './steps.js';

/** The demo's closing comparison: the same incident on the two paths, every figure measured. */
export interface DemoView {
  path_a: PathResult;
  path_b: PathResult & { tail_drawn_ms: number };
  time_scale: number;
  agent_interval_ms: number;
}

const stopText = (r: PathResult, real: boolean) =>
  r.time_to_stop_ms === null ? 'not stopped' : real && r.time_to_stop_real_ms !== r.time_to_stop_ms ? `${fmtMs(r.time_to_stop_ms)} (${fmtMs(r.time_to_stop_real_ms!)} at real scale)` : fmtMs(r.time_to_stop_ms);

export function renderComparison(v: DemoView, p: Paint): string {
  const rows = [
    { what: 'time to stop the agent', a: stopText(v.path_a, false), b: stopText(v.path_b, true) },
    { what: 'refunds leaked after the stop', a: String(v.path_a.leaked_calls), b: String(v.path_b.leaked_calls) },
    {
      what: 'other consumers broken',
      a: `${v.path_a.other_consumers_broken} of ${v.path_a.other_consumers.length}`,
      b: `${v.path_b.other_consumers_broken} of ${v.path_b.other_consumers.length}`,
    },
  ];
  const table = renderTable(rows, [
    { header: '', value: (r) => r.what },
    { header: 'A: revoke at the proxy', value: (r) => r.a, align: 'right' },
    { header: 'B: rotate at the vendor', value: (r) => r.b, align: 'right' },
  ]);
  const notes = [
    p.dim(`Measured in this run. The agent called every ${fmtMs(v.agent_interval_ms)} (400ms × time scale ${v.time_scale});`),
    p.dim(`the vendor's propagation tail was scaled by ${v.time_scale} too (this deletion drew ${fmtMs(v.path_b.tail_drawn_ms)}, ${fmtMs(v.path_b.tail_drawn_ms / v.time_scale)} at real scale).`),
    p.dim('The proxy is not scaled: path A is real time.'),
  ];
  return [p.bold('The same incident, two ways'), table.trimEnd(), ...notes].join('\n') + '\n';
}

export function demoJson(v: DemoView, extra: Record<string, unknown>): Record<string, unknown> {
  const path = (r: PathResult) => ({
    time_to_stop_ms: r.time_to_stop_ms,
    time_to_stop_real_ms: r.time_to_stop_real_ms,
    leaked_calls: r.leaked_calls,
    other_consumers_broken: r.other_consumers_broken,
    other_consumers: r.other_consumers,
    calls_before_stop: r.calls_before_stop,
    stopped: r.stopped,
  });
  return {
    path_a: { how: 'revoke the vault key at the proxy', ...path(v.path_a) },
    path_b: { how: 'delete the production key at the vendor', ...path(v.path_b), tail_drawn_ms: Math.round(v.path_b.tail_drawn_ms) },
    time_scale: v.time_scale,
    agent_interval_ms: v.agent_interval_ms,
    ...extra,
  };
}
