import type { Paint } from './color.js';
import type { PathResult } from '../core/demo/measure.js';
import { renderTable } from './table.js';
import { fmtMs } from './steps.js';
import { wrapFor } from './format.js';

/** The demo's closing comparison: the same incident on the two paths, every figure measured. */
export interface DemoView {
  path_a: PathResult;
  path_b: PathResult & { tail_drawn_ms: number };
  time_scale: number;
  agent_interval_ms: number;
}

const stopText = (r: PathResult, real: boolean) =>
  r.time_to_stop_ms === null
    ? 'not stopped'
    : real && r.time_to_stop_real_ms !== r.time_to_stop_ms
      ? `${fmtMs(r.time_to_stop_ms)} (${fmtMs(r.time_to_stop_real_ms!)} at real scale)`
      : fmtMs(r.time_to_stop_ms);

const count = (n: number | null) => (n === null ? 'unknown' : String(n));

export function renderComparison(v: DemoView, p: Paint, stream: { isTTY?: boolean; columns?: number } = {}): string {
  const rows = [
    { what: 'time to stop the agent', a: stopText(v.path_a, false), b: stopText(v.path_b, true) },
    { what: 'refunds leaked after the stop', a: count(v.path_a.leaked_calls), b: count(v.path_b.leaked_calls) },
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
  const real = (ms: number) => fmtMs(ms / v.time_scale);
  const notes = [
    `Measured in this run, at real scale: the agent refunds every 400ms (${fmtMs(v.agent_interval_ms)} on this run's clock, time scale ${v.time_scale}), and the vendor's propagation tail is scaled the same (this deletion drew ${real(v.path_b.tail_drawn_ms)}).`,
    "The proxy is never scaled: path A's time is real time.",
    `Leaked after the stop: a refund that went through once the stop had taken effect. For A, the refunds already in flight when the revoke landed, which a soft revoke lets finish (--hard cuts them), counted as the damage summary above counts them. It varies between runs with what was in flight at that instant (${count(v.path_a.leaked_calls)} this time), and runs higher here than in real life: the proxy is not scaled, so a refund takes its real time while the agent fires ${Math.round(1 / v.time_scale)}x as often; at real scale, at most the one in flight. For B, every refund until the vendor's edge forgot the key.`,
  ].map((n) => p.dim(wrapFor(stream, n)));
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
    path_b: {
      how: 'delete the production key at the vendor',
      ...path(v.path_b),
      tail_drawn_ms: Math.round(v.path_b.tail_drawn_ms),
    },
    time_scale: v.time_scale,
    agent_interval_ms: v.agent_interval_ms,
    ...extra,
  };
}
