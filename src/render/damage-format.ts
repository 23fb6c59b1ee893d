import type { DamageSummary } from '../core/damage/types.js';
import { formatLocal } from '../core/damage/time.js';
import { ALLOWED_VERDICTS } from '../core/damage/accumulate.js';
import { inert, inertOr } from '../core/inert.js';

/** Shared formatting for the damage renderers (text and Markdown). */
export interface DamageView {
  /** The operator's zone (`TZ`); times are stored UTC and shown in it. */
  tz: string | undefined;
}

import { usd } from '../core/money.js';

export { usd };

export const count = (n: number) => n.toLocaleString('en-US');

export const at = (iso: string | null, v: DamageView, seconds = true) =>
  iso === null ? '—' : formatLocal(Date.parse(iso), v.tz, seconds);

/** An audited value (the agent controls it): inert, or "(none)". */
export const orNone = (s: string | null) => inertOr(s, '(none)');

/** `POST /v1/refunds`, from audited (agent-controlled) parts. */
export const endpointText = (e: { method: string | null; path: string | null }) =>
  `${inertOr(e.method, '?')} ${inertOr(e.path, '?')}`;

export function scopeLine(s: DamageSummary, v: DamageView): string {
  const f = s.filter;
  const who =
    f.vault_key_id !== undefined
      ? `vault key ${inert(f.vault_key_id)}`
      : f.agent_run_id !== undefined
        ? `agent run ${inert(f.agent_run_id)}`
        : f.customer_scope_id !== undefined
          ? `customer ${inert(f.customer_scope_id)}`
          : 'all calls';
  const extra = [
    f.agent_run_id !== undefined && f.vault_key_id !== undefined ? `run ${inert(f.agent_run_id)}` : null,
  ].filter(Boolean);
  const from = s.window.from ? at(s.window.from, v, false) : 'the first row';
  const to = s.window.to ? at(s.window.to, v, false) : 'the last row';
  return `${[who, ...extra].join(', ')}, ${from} to ${to}`;
}

export function verdictLine(s: DamageSummary): string {
  const rest = Object.entries(s.by_verdict)
    .filter(([k]) => !ALLOWED_VERDICTS.has(k)) // counted in `allowed`
    .map(([k, n]) => `${count(n)} ${inert(k)}`);
  return [`${count(s.calls_total)} total`, `${count(s.calls_allowed)} allowed`, ...rest].join(', ');
}

export function anomalyLine(s: DamageSummary, v: DamageView): string {
  if (s.anomaly_start === null) return 'none found (no minute above 5x the baseline before it)';
  const base = s.baseline_per_minute === null ? '' : ` (baseline ${s.baseline_per_minute}/min before it)`;
  return `from ${at(s.anomaly_start, v, false)}${base}`;
}

export function afterRevokeLine(s: DamageSummary, v: DamageView): string | null {
  const a = s.after_revoke;
  if (!a) return null;
  const inFlight = a.in_flight === null ? 'in flight unknown' : `${count(a.in_flight)} in flight`;
  const allowed = a.later_allowed > 0 ? `, ${count(a.later_allowed)} of them allowed` : ', none allowed';
  return `at ${at(a.revoked_at, v)}: ${inFlight}, ${count(a.later)} later${a.later > 0 ? allowed : ''}`;
}

export function badRowsLine(s: DamageSummary): string | null {
  if (s.bad_rows.count === 0) return null;
  const more = s.bad_rows.count > s.bad_rows.first_lines.length ? ', …' : '';
  return `${count(s.bad_rows.count)} unreadable, skipped (first at ${s.bad_rows.first_lines.join(', ')}${more})`;
}

export function emptyLine(s: DamageSummary, v: DamageView): string {
  return `No calls in this window (${scopeLine(s, v)}). Nothing reached the proxy, or the filter matches nothing.`;
}

/**
 * The cost, never a bare "$0" when part of it is unknown: `cost_usd` sums only the calls with a
 * recorded cost, so with unknown-cost calls it is a lower bound, and says so.
 */
export function costLine(s: DamageSummary): string {
  const u = s.cost_unknown;
  if (u === null) return `${usd(s.cost_usd)} (allowed calls; this source does not say which calls have no cost)`;
  if (u.calls === 0) return `${usd(s.cost_usd)} (allowed calls)`;
  const share = `${(u.share * 100).toFixed(u.share < 0.01 ? 2 : 1)}%`;
  return `at least ${usd(s.cost_usd)}: ${count(u.calls)} allowed calls (${share}) have no cost recorded (unknown, not $0)`;
}

/** Forwarded calls whose outcome was never recorded (C6): not proven either way, their amount an estimate. */
export function outcomeUnknownLine(s: DamageSummary): string | null {
  const o = s.outcome_unknown;
  if (o.calls === 0) return null;
  return `${count(o.calls)} calls forwarded, outcome never recorded (not proven either way); estimated ${usd(o.amount_usd_estimated)} (an estimate, not in the cost)`;
}
