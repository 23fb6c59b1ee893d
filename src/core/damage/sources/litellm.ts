import type { Aggregate, AuditRow, AuditSource, DamageQuery } from '../types.js';
import type { HttpClient } from '../../http.js';
import { Accumulator } from '../accumulate.js';
import { TourniquetError, usageError } from '../../errors.js';
import { parseAuditTime } from '../time.js';
import { forEachLine, type StreamOpener } from './lines.js';

import { isBlank, readCost, str } from '../rows.js';
import { isRecord, valueText } from '../../json.js';

/**
 * One LiteLLM spend-log entry (`GET /spend/logs`) as an audit row. `api_key` is a (hashed)
 * key: it is never read, so it cannot reach any output. The vault key is the key's alias.
 */
export function fromSpendLog(e: Record<string, unknown>): AuditRow | null {
  const started = parseAuditTime(e.startTime);
  // The same checks as an audit row's cost: negative, over $1e9 or not a number is a bad entry.
  const spend = readCost(e.spend);
  if (Number.isNaN(started) || Number.isNaN(spend)) return null;
  const md = isRecord(e.metadata) ? e.metadata : {};
  const finished = parseAuditTime(e.endTime);
  const failed = e.status === 'failure' || e.status === 'error';
  return {
    started_at: started,
    finished_at: Number.isNaN(finished) ? null : finished,
    vault_key_id: str(md.user_api_key_alias ?? md.key_alias ?? e.key_alias),
    agent_run_id: str(md.agent_run_id ?? e.session_id ?? md.session_id),
    customer_scope_id: str(e.end_user ?? e.user),
    method: 'POST',
    path: str(e.call_type ? `/${valueText(e.call_type)}/${valueText(e.model ?? '')}` : e.model),
    policy_verdict: failed ? 'error' : 'allowed',
    cost_usd: spend,
    // LiteLLM logs a call once it ended: no spend written is an unknown cost, never an unknown outcome.
    cost_known: !isBlank(e.spend),
    outcome_unknown: false,
    estimate_usd: 0,
  };
}

function addAll(acc: Accumulator, entries: unknown[], lineOf: (i: number) => number): void {
  entries.forEach((e, i) => {
    const row = isRecord(e) ? fromSpendLog(e) : null;
    if (row) acc.add(row);
    else acc.bad(lineOf(i));
  });
}

/** LiteLLM spend logs from a file: a JSON array (as the API returns it) or one entry per line. */
export class LiteLlmFileSource implements AuditSource {
  constructor(
    readonly label: string,
    private readonly open: StreamOpener,
  ) {}

  async aggregate(query: DamageQuery, signal?: AbortSignal): Promise<Aggregate> {
    const acc = new Accumulator(query);
    let array: string[] | null = null;
    await forEachLine(
      this.open(),
      (line, n) => {
        if (array) return void array.push(line);
        if (n === 1 && line.trimStart().startsWith('[')) return void (array = [line]);
        if (line.trim() === '') return;
        let e: unknown;
        try {
          e = JSON.parse(line);
        } catch {
          return acc.bad(n);
        }
        addAll(acc, [e], () => n);
      },
      signal,
    );
    if (array) {
      // The API's own shape is one JSON array; it has no line numbers worth giving, so bad entries report their index + 1.
      let parsed: unknown;
      try {
        parsed = JSON.parse((array as string[]).join('\n'));
      } catch (err) {
        throw usageError(
          `${this.label}: not a JSON array of spend logs (${(err as Error).message})`,
          'export with GET /spend/logs, or give one JSON entry per line',
        );
      }
      if (!Array.isArray(parsed)) throw usageError(`${this.label}: not a JSON array of spend logs`);
      addAll(acc, parsed, (i) => i + 1);
    }
    const agg = acc.agg;
    // As for an audit file (scanText): a summary of nothing would read as "no damage".
    if (acc.rowsRead === 0 && agg.bad_rows.count > 0)
      throw usageError(
        `${this.label}: no entry is a readable spend log (${agg.bad_rows.count} unreadable, first at ${agg.bad_rows.first_lines.join(', ')})`,
        'export with GET /spend/logs (entries with startTime and spend), or give one JSON entry per line',
      );
    return agg;
  }
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * A day total rather than a log: what /spend/logs answers for a date range unless asked for
 * `summarize=false` (a LiteLLM too old to know the parameter still answers these).
 */
const isDaySummary = (e: unknown) =>
  !!e && typeof e === 'object' && 'users' in e && 'models' in e && !('request_id' in e);

/**
 * A LiteLLM proxy's `GET /spend/logs` for a date range (day granularity there; filtered to the
 * minute here), as individual logs (`summarize=false`): per-day totals would lose the vault
 * key, run and endpoint of every call.
 */
export class LiteLlmApiSource implements AuditSource {
  readonly label: string;

  constructor(private readonly client: HttpClient) {
    this.label = `litellm:${client.baseUrl}`;
  }

  async aggregate(query: DamageQuery): Promise<Aggregate> {
    const now = Date.now();
    const res = await this.client.get('/spend/logs', {
      query: {
        start_date: day(query.from ?? now - 86_400_000),
        end_date: day((query.to ?? now) + 86_400_000),
        summarize: 'false',
      },
      expect: (b) => (Array.isArray(b) ? undefined : 'not a list of spend logs'),
    });
    if ((res.body as unknown[]).some(isDaySummary))
      throw new TourniquetError(
        'step-failed',
        `${this.label}: /spend/logs answered per-day totals, not individual logs; this LiteLLM ignores summarize=false`,
        {
          hint: 'upgrade LiteLLM, or export the spend logs (GET /spend/logs without dates) and pass the file with --source litellm:FILE',
        },
      );
    const acc = new Accumulator(query);
    addAll(acc, res.body as unknown[], (i) => i + 1);
    return acc.agg;
  }
}
