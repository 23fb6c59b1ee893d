import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import { quoteIdent, type ColumnMap } from '../columns.js';
import { TourniquetError, usageError } from '../../errors.js';
import { stat } from 'node:fs/promises';
import {
  assemble,
  badRowsStatement,
  buildStatements,
  hasBadRows,
  needsStrict,
  outcomeProbe,
  type Dialect,
  type SqlStatement,
  type TimeStorage,
} from './sql.js';
import { runInLanes } from './sqlite-lanes.js';
import { valueText } from '../../json.js';

/** Files at least this big are scanned on two threads. */
export const PARALLEL_BYTES = 64 * 1024 * 1024;

/** Costs are summed as integer micro-dollars: exact, so every source adds up to the same cent. */
const SQLITE: Dialect = {
  name: 'sqlite',
  param: () => '?',
  costSum: (col) => `SUM(CAST(ROUND(COALESCE(${col}, 0) * 1000000) AS INTEGER))`,
  micros: (v) => (v === null || v === undefined ? 0 : Number(v)),
};

type Db = import('better-sqlite3').Database;

/** A text time that ends in a UTC offset other than Z: `…T04:14:00+02:00`, `… 04:14:00+02`. */
const WITH_OFFSET = /\d:\d\d(?:\.\d+)?[+-]\d\d(?::?\d\d)?$/;

/**
 * Text times with UTC offsets cannot be compared or cut into minutes as text (`04:14+02:00` is
 * 02:14 UTC): refuse them (exit 2) rather than give a window of nothing. Read off the first, the
 * least and the greatest value (the last two from an index on the column, when there is one).
 */
function refuseOffsets(db: Db, table: string, col: string, first: unknown): void {
  const c = quoteIdent(col);
  const t = quoteIdent(table);
  // Two scalar subqueries: SQLite answers a lone MIN or MAX off the index's ends, but scans the
  // whole index for both in one SELECT (100 ms a million rows).
  const ends = db
    .prepare(`SELECT (SELECT MIN(${c}) FROM ${t} WHERE ${c} > '') AS lo, (SELECT MAX(${c}) FROM ${t}) AS hi`)
    .get() as { lo: unknown; hi: unknown } | undefined;
  const offset = [first, ends?.lo, ends?.hi].find((v) => typeof v === 'string' && WITH_OFFSET.test(v));
  if (offset !== undefined)
    throw usageError(
      `SQLite audit file: ${col} holds times with a UTC offset (${valueText(offset)}), which SQL cannot compare as text`,
      'store start times in UTC (ending in Z, or with no zone), or export the table to CSV or JSONL and pass that file',
    );
}

/** How started_at is stored, read off one row: epoch numbers or ISO-ish text. */
export function sniffSqliteTime(db: Db, table: string, col: string): TimeStorage {
  const row = db
    .prepare(
      `SELECT typeof(${quoteIdent(col)}) AS t, ${quoteIdent(col)} AS v FROM ${quoteIdent(table)} WHERE NULLIF(${quoteIdent(col)}, '') IS NOT NULL LIMIT 1`,
    )
    .get() as { t: string; v: unknown } | undefined;
  if (!row || row.t === 'text') {
    refuseOffsets(db, table, col, row?.v);
    const v = valueText(row?.v ?? 'T Z');
    return { kind: 'text', sep: v.includes('T') ? 'T' : ' ', zone: /Z$/i.test(v) };
  }
  return Number(row.v) > 1e11 ? { kind: 'epoch_ms' } : { kind: 'epoch_s' };
}

/** Whether a query naming some columns compiles: a table from before write-ahead audit has no `outcome`. */
function hasColumns(db: Db, sql: string): boolean {
  try {
    db.prepare(sql);
    return true;
  } catch {
    return false;
  }
}

/**
 * What went wrong reading an SQLite audit file, as the error the operator acts on: a file that
 * is not a database, or lacks the table or a column, is bad input (exit 2); anything else a step that failed.
 */
function sqliteFailure(path: string, err: unknown): TourniquetError {
  if (err instanceof TourniquetError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown }).code;
  if (/no such (table|column)/.test(msg))
    return usageError(
      `SQLite audit file ${path}: ${msg}`,
      'map the table and columns with --table and --columns (or audit_table / audit_columns in config)',
    );
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || /not a database|malformed/.test(msg))
    return usageError(
      `${path} is not a readable SQLite database (${msg})`,
      'check the path, or name the format: --input-format jsonl|csv',
    );
  return new TourniquetError('step-failed', `reading SQLite audit file ${path}: ${msg}`, { cause: err });
}

/** An SQLite file: the proxy's embedded store or the user's own. Opened read-only. */
export class SqliteSource implements AuditSource {
  readonly label: string;
  private db: Db | undefined;

  constructor(
    private readonly path: string,
    private readonly table: string,
    private readonly cols: ColumnMap,
    private readonly parallelBytes = PARALLEL_BYTES,
  ) {
    this.label = `sqlite:${path}`;
  }

  private async open(): Promise<Db> {
    if (this.db) return this.db;
    const { default: Database } = await import('better-sqlite3');
    try {
      this.db = new Database(this.path, { readonly: true, fileMustExist: true });
      this.db.pragma('query_only = true');
    } catch (err) {
      throw usageError(`cannot open SQLite audit file ${this.path}: ${(err as Error).message}`, 'check the path');
    }
    return this.db;
  }

  async aggregate(query: DamageQuery): Promise<Aggregate> {
    const db = await this.open();
    try {
      const time = sniffSqliteTime(db, this.table, this.cols.started_at);
      const outcome = hasColumns(db, outcomeProbe(this.table, this.cols));
      let results = await this.run(db, buildStatements(SQLITE, this.table, this.cols, time, query, false, outcome));
      if (needsStrict(SQLITE, results))
        results = await this.run(db, buildStatements(SQLITE, this.table, this.cols, time, query, true, outcome));
      if (hasBadRows(results)) {
        const bad = badRowsStatement(SQLITE, this.table, this.cols, time, query);
        results.set('bad', db.prepare(bad.sql).all(...bad.params) as Record<string, unknown>[]);
      }
      return assemble(SQLITE, results, time, query);
    } catch (err) {
      throw sqliteFailure(this.path, err);
    }
  }

  private async run(db: Db, statements: SqlStatement[]): Promise<Map<SqlStatement['name'], Record<string, unknown>[]>> {
    // Check every statement here (a missing column fails fast, with the hint), then run.
    for (const st of statements) db.prepare(st.sql);
    const results = (await this.big())
      ? await runInLanes(this.path, statements)
      : new Map(statements.map((st) => [st.name, db.prepare(st.sql).all(...st.params)]));
    return results as Map<SqlStatement['name'], Record<string, unknown>[]>;
  }

  /** Worth a second thread: threads cost tens of milliseconds, a big scan seconds. */
  private async big(): Promise<boolean> {
    try {
      return (await stat(this.path)).size >= this.parallelBytes;
    } catch {
      return false;
    }
  }

  close(): Promise<void> {
    this.db?.close();
    this.db = undefined;
    return Promise.resolve();
  }
}
