import type { Paint } from './color.js';
import type { Inventory, KeyRow } from '../core/rotation/inventory.js';
import { renderTable } from './table.js';

/** The production-key inventory: a table for people, Markdown for a reviewer or a step summary. */
const DAY = 86_400_000;

export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s}s ago`;
  if (s < 5400) return `${Math.round(s / 60)}m ago`;
  if (s < 2 * 86_400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function lastUsedText(k: KeyRow, now: number): string {
  if (k.last_used_at) return ago(k.last_used_at, now);
  return k.usage_since ? `not since ${k.usage_since.slice(0, 16).replace('T', ' ')}Z` : 'unknown';
}

export function dueText(k: KeyRow, now: number): string {
  if (k.state !== 'active') return '—';
  if (!k.due_at) return 'no policy';
  const days = Math.round((Date.parse(k.due_at) - now) / DAY);
  if (k.overdue) return `OVERDUE ${-days}d`;
  return `${k.due_at.slice(0, 10)} (${days}d)`;
}

const rotation = (k: KeyRow) => (k.last_rotation ? k.last_rotation.incident_id : '—');

export function renderKeysText(inv: Inventory, p: Paint): string {
  const now = Date.parse(inv.at);
  if (inv.keys.length === 0)
    return 'No production keys at the proxy. Add one: POST /v1/upstream-keys, or name it in the proxy config file.\n';
  const table = renderTable(inv.keys, [
    { header: 'VENDOR', value: (k) => k.vendor },
    { header: 'KEY', value: (k) => `${k.id} ${p.dim(k.hint)}` },
    { header: 'STATE', value: (k) => k.state },
    { header: 'AGE', value: (k) => `${k.age_days}d`, align: 'right' },
    { header: 'LAST USED', value: (k) => lastUsedText(k, now) },
    { header: 'VAULT KEYS', value: (k) => String(k.vault_keys), align: 'right' },
    { header: 'DUE', value: (k) => (k.overdue ? p.red(dueText(k, now)) : dueText(k, now)) },
    { header: 'LAST ROTATION', value: rotation },
  ]);
  const lines = [table.trimEnd()];
  const vendors = [...new Set(inv.keys.filter((k) => k.overdue).map((k) => k.vendor))];
  if (vendors.length)
    lines.push(
      '',
      p.red(`${inv.overdue.length} overdue: ${vendors.map((v) => `tourniquet rotate ${v} --if-due --yes`).join('; ')}`),
    );
  if (inv.unreachable.length)
    lines.push(p.yellow(`last use unknown from ${inv.unreachable.join(', ')} (not answering)`));
  return lines.join('\n') + '\n';
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderKeysMarkdown(inv: Inventory): string {
  const now = Date.parse(inv.at);
  const rows = inv.keys.map((k) =>
    [
      k.vendor,
      `\`${k.id}\` ${k.hint}`,
      k.state,
      `${k.age_days}d`,
      lastUsedText(k, now),
      String(k.vault_keys),
      k.overdue ? `**${dueText(k, now)}**` : dueText(k, now),
      k.policy.max_age ? `${k.policy.max_age} (${k.policy.source})` : '—',
      k.last_rotation ? `\`${k.last_rotation.incident_id}\`` : '—',
    ].map(cell),
  );
  return [
    `### Production keys at ${inv.at.slice(0, 16).replace('T', ' ')} UTC: ${inv.overdue.length ? `❌ ${inv.overdue.length} overdue` : '✅ none overdue'}`,
    '',
    '| vendor | key | state | age | last used | vault keys | due | max age | last rotation |',
    '|---|---|---|---:|---|---:|---|---|---|',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
}
