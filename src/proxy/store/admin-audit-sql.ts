import type { AdminAuditFilter, AdminAuditRow } from '../admin/admin-audit.js';
import type { Row } from './records.js';

/** The admin-audit table in both stores: column list, WHERE clause builder, row decoder. */
export const ADMIN_AUDIT_COLUMNS = [
  'at',
  'instance_id',
  'token_name',
  'scope',
  'action',
  'method',
  'path',
  'targets',
  'outcome',
  'status',
  'remote_addr',
  'forwarded_for',
  'detail',
] as const;

export function adminAuditValues(r: AdminAuditRow): unknown[] {
  const row: Record<string, unknown> = { ...r, targets: JSON.stringify(r.targets), detail: JSON.stringify(r.detail) };
  return ADMIN_AUDIT_COLUMNS.map((c) => row[c] ?? null);
}

/** `ph(i)` renders the i-th placeholder (`?` for SQLite, `$i` for PostgreSQL). */
export function adminAuditWhere(
  f: AdminAuditFilter,
  ph: (i: number) => string,
  targetMatch: (p: string) => string,
): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (clause: (p: string) => string, v: unknown) => {
    params.push(v);
    parts.push(clause(ph(params.length)));
  };
  if (f.from) add((p) => `at >= ${p}`, f.from);
  if (f.to) add((p) => `at < ${p}`, f.to);
  if (f.token_name) add((p) => `token_name = ${p}`, f.token_name);
  if (f.action) add((p) => `action = ${p}`, f.action);
  if (f.target) add(targetMatch, f.target);
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

const json = (v: unknown): unknown => (typeof v === 'string' ? (JSON.parse(v) as unknown) : (v ?? null));

export function toAdminAuditRow(r: Row): AdminAuditRow {
  return {
    id: Number(r.id),
    at: String(r.at),
    instance_id: String(r.instance_id),
    token_name: String(r.token_name),
    scope: String(r.scope),
    action: String(r.action),
    method: String(r.method),
    path: String(r.path),
    targets: (json(r.targets) as string[] | null) ?? [],
    outcome: r.outcome as AdminAuditRow['outcome'],
    status: Number(r.status),
    remote_addr: (r.remote_addr as string | null) ?? null,
    forwarded_for: (r.forwarded_for as string | null) ?? null,
    detail: (json(r.detail) as Record<string, unknown> | null) ?? {},
  };
}
