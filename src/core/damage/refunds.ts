import type { DamageSummary } from './types.js';
import { inert } from '../inert.js';

function cell(v: string | number | null): string {
  // Agent-controlled text: control characters shown, never obeyed by a terminal (core/inert.ts).
  let s = v === null ? '' : inert(String(v));
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n']/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * The refund candidates as CSV: one line per customer whose calls were allowed, biggest first.
 * Cells that a spreadsheet would run as a formula get a leading ' and are quoted.
 */
export function refundsCsv(s: DamageSummary): string {
  const lines = ['customer_scope_id,calls,cost_usd'];
  for (const c of s.customers) lines.push([cell(c.customer_scope_id), c.calls, c.cost_usd].join(','));
  return lines.join('\n') + '\n';
}
