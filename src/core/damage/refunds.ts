import type { DamageSummary } from './types.js';
import { usageError } from '../errors.js';
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

const refundsError = (path: string, code: string) =>
  usageError(
    `cannot write the refund candidates to ${path}: ${code === 'EISDIR' ? 'it is a directory' : code === 'ENOENT' ? 'its directory does not exist' : code}`,
    'give --refunds a file path, e.g. --refunds refunds.csv',
  );

/** Before the work: a --refunds path that cannot take a file fails now, not after the scan. */
export async function checkRefundsPath(path: string): Promise<void> {
  const { stat } = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) throw refundsError(path, 'EISDIR');
  const dir = await stat(nodePath.dirname(path)).catch(() => undefined);
  if (!dir?.isDirectory()) throw refundsError(path, 'ENOENT');
}

/** Write the refund candidates (0600: they name customers). A path that cannot take a file is a usage error naming it. */
export async function writeRefunds(path: string, s: DamageSummary): Promise<void> {
  const { writeFile } = await import('node:fs/promises');
  try {
    await writeFile(path, refundsCsv(s), { mode: 0o600 });
  } catch (err) {
    throw refundsError(path, (err as NodeJS.ErrnoException).code ?? String(err));
  }
}
