import { usageError } from '../errors.js';

/** The audit columns the summary reads, by their names in the seeds' `agent_call_audit`. */
export const AUDIT_FIELDS = [
  'id',
  'started_at',
  'finished_at',
  'vault_key_id',
  'agent_run_id',
  'customer_scope_id',
  'method',
  'path',
  'policy_verdict',
  'cost_usd_parsed',
  // Write-ahead audit (C6); a source without them reads every row as complete, nothing estimated.
  'outcome',
  'amount_usd_estimated',
] as const;

export type AuditField = (typeof AUDIT_FIELDS)[number];
export type ColumnMap = Record<AuditField, string>;

export const DEFAULT_TABLE = 'agent_call_audit';

export function defaultColumns(): ColumnMap {
  return Object.fromEntries(AUDIT_FIELDS.map((f) => [f, f])) as ColumnMap;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/** A table or column name, checked so it can be placed in SQL (quoted) without injection. */
export function checkIdent(name: string, what: string): string {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENT.test(p)))
    throw usageError(
      `${what} ${JSON.stringify(name)} is not a plain identifier`,
      'use letters, digits and _ (optionally schema.table)',
    );
  return name;
}

export const quoteIdent = (name: string) =>
  name
    .split('.')
    .map((p) => `"${p}"`)
    .join('.');

/**
 * Column overrides from config (`audit_columns`) or `--columns`: `started_at=ts,cost_usd_parsed=cost`
 * or an object. Unknown fields are a usage error: a typo here would silently zero a column.
 */
export function parseColumnMap(spec: string | Record<string, string> | undefined): ColumnMap {
  const map = defaultColumns();
  if (spec === undefined || spec === '') return map;
  const pairs =
    typeof spec === 'string'
      ? spec.split(',').map((p) => p.split('=').map((s) => s.trim()) as [string, string | undefined])
      : Object.entries(spec);
  for (const [field, column] of pairs) {
    if (!(AUDIT_FIELDS as readonly string[]).includes(field))
      throw usageError(
        `unknown audit field ${JSON.stringify(field)} in the column map`,
        `known fields: ${AUDIT_FIELDS.join(', ')}`,
      );
    if (!column)
      throw usageError(`audit field ${field} is mapped to nothing`, 'write field=column, e.g. started_at=ts');
    map[field as AuditField] = checkIdent(column, 'column');
  }
  return map;
}
