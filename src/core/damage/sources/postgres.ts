import type { AuditSource, DamageQuery, Aggregate } from '../types.js';
import type { ColumnMap } from '../columns.js';
import { TourniquetError, usageError } from '../../errors.js';
import {
  assemble,
  badRowsStatement,
  undatedStatement,
  hasBadRows,
  needsStrict,
  outcomeProbe,
  type Dialect,
  type SqlStatement,
  type TimeStorage,
} from './sql.js';
import { postgresPasses, type PostgresPass } from './postgres-sql.js';
import { toMicros } from '../accumulate.js';

/** numeric sums are exact in PostgreSQL already: sum the column as is, convert the total. */
const POSTGRES: Dialect = {
  name: 'postgres',
  param: (i) => `$${i}`,
  costSum: (col) => `SUM(${col})`,
  micros: (v) => (v === null || v === undefined ? 0 : toMicros(Number(v))),
};
const TIMESTAMP = { kind: 'timestamp' } as const satisfies TimeStorage;
const PARALLEL = 2;

/** The URL without its password, for labels and messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}

/**
 * A PostgreSQL table (the user's own agent_call_audit). The summary is two passes over the table,
 * run side by side on two connections (postgres-sql.ts); only aggregate rows cross the wire.
 * Session time zone is UTC so a `timestamp without time zone` column is read as UTC, as audit
 * rows are stored.
 */
export class PostgresSource implements AuditSource {
  readonly label: string;

  constructor(
    private readonly url: string,
    private readonly table: string,
    private readonly cols: ColumnMap,
  ) {
    this.label = `postgres:${redactUrl(url)}`;
  }

  async aggregate(query: DamageQuery): Promise<Aggregate> {
    const { default: pg } = await import('pg');
    // timestamp without time zone (1114): parse as UTC, not as the operator's local time.
    const types = {
      getTypeParser: (oid: number, format?: string): ((v: string) => unknown) =>
        oid === 1114
          ? (v: string) => new Date(v + 'Z')
          : (pg.types.getTypeParser(oid, format as 'text') as (v: string) => unknown),
    };
    const clients: import('pg').Client[] = [];
    try {
      for (let i = 0; i < PARALLEL; i++) clients.push(await this.connect(pg));
      const run = async (passes: PostgresPass[]) => {
        const queue = [...passes];
        const results = new Map<SqlStatement['name'], Record<string, unknown>[]>();
        // Each connection takes the next pass when it is free: the scans run side by side.
        const lane = async (c: import('pg').Client) => {
          for (let p = queue.shift(); p; p = queue.shift())
            p.split((await c.query<Record<string, unknown>>({ text: p.sql, values: p.params, types })).rows, results);
        };
        await Promise.all(clients.map(lane));
        return results;
      };
      // A table from before write-ahead audit (C6) has no outcome column: every row is complete.
      const outcome = await clients[0]!.query(outcomeProbe(this.table, this.cols)).then(
        () => true,
        () => false,
      );
      // With a window, the rows with no start time are counted too, by the next free connection (on a table with no
      // index on the start time that is one more scan).
      const undated = undatedStatement(POSTGRES, this.table, this.cols, TIMESTAMP, query);
      const passes = (strict: boolean): PostgresPass[] => [
        ...postgresPasses(POSTGRES, this.table, this.cols, query, strict, outcome),
        ...(undated
          ? [
              {
                ...undated,
                name: 'undated' as const,
                split: (rows: Record<string, unknown>[], into: Map<SqlStatement['name'], Record<string, unknown>[]>) =>
                  void into.set('undated', rows),
              },
            ]
          : []),
      ];
      let results = await run(passes(false));
      if (needsStrict(POSTGRES, results)) results = await run(passes(true));
      if (hasBadRows(results)) {
        const bad = badRowsStatement(POSTGRES, this.table, this.cols, TIMESTAMP, query);
        results.set(
          'bad',
          (await clients[0]!.query<Record<string, unknown>>({ text: bad.sql, values: bad.params, types })).rows,
        );
      }
      return assemble(POSTGRES, results, TIMESTAMP, query);
    } catch (err) {
      if (err instanceof TourniquetError) throw err;
      const code = (err as { code?: string }).code;
      if (code === '42P01' || code === '42703')
        throw usageError(
          `PostgreSQL audit table: ${(err as Error).message}`,
          'map the table and columns with --table and --columns (or audit_table / audit_columns in config)',
        );
      throw new TourniquetError('step-failed', `PostgreSQL ${redactUrl(this.url)}: ${(err as Error).message}`);
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
  }

  private async connect(pg: typeof import('pg').default): Promise<import('pg').Client> {
    const client = new pg.Client({
      connectionString: this.url,
      connectionTimeoutMillis: 10_000,
      options: '-c TimeZone=UTC',
    });
    client.on('error', () => {}); // a dropped connection is reported by the query that needed it
    try {
      await client.connect();
      return client;
    } catch (err) {
      throw new TourniquetError('step-failed', `cannot connect to ${redactUrl(this.url)}: ${(err as Error).message}`, {
        hint: 'check the URL, that the server is up, and the credentials',
      });
    }
  }
}
