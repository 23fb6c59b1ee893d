import type { AuditRow } from './store/types.js';

/**
 * One JSON line per request on stderr. Built only from the audit row and ids: no header,
 * body or secret ever goes into it.
 */
export interface RequestLog {
  /** `vendorMs`: time spent waiting on the vendor, for forwarded calls (metrics). */
  request(row: AuditRow, status: number, vendorMs?: number | null): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  /** Something the operator should fix (an exposed admin listener). */
  warn?(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, err?: unknown): void;
  /** Write out what is buffered (at shutdown). */
  flush?(): void;
}

/**
 * Something thrown that is not an Error, as a log line says it: a scalar as text, an object only
 * as its kind (`[object Object]`, as String() has always printed it), never its fields, which
 * may hold a secret the scrubber does not know.
 */
const thrownText = (v: unknown): string =>
  typeof v === 'object' && v !== null ? Object.prototype.toString.call(v) : String(v);

/** Largest write a pipe takes whole, never interleaved with another process's (POSIX PIPE_BUF). */
const PIPE_BUF = 4096;

/**
 * A writer for a stream several processes share (cluster workers on one stderr): the text goes out
 * in writes of whole lines, each at most PIPE_BUF bytes where the lines allow, so lines of
 * different processes never mix.
 */
export function lineAtomic(write: (text: string) => void): (text: string) => void {
  return (text) => {
    let chunk = '';
    for (const line of text.split(/(?<=\n)/)) {
      if (chunk && Buffer.byteLength(chunk) + Buffer.byteLength(line) > PIPE_BUF) {
        write(chunk);
        chunk = '';
      }
      chunk += line;
    }
    if (chunk) write(chunk);
  };
}

export function jsonLog(write: (line: string) => void, scrub: (s: string) => string = (s) => s): RequestLog {
  // Lines of one event-loop turn go out in one write: a write per request costs more than the request.
  let buffered = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!buffered) return;
    const text = buffered;
    buffered = '';
    write(text);
  };
  const emit = (obj: Record<string, unknown>) => {
    buffered += scrub(JSON.stringify(obj)) + '\n';
    if (buffered.length > 65536) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
  return {
    flush,
    request(row, status) {
      emit({
        t: row.finished_at,
        level: 'info',
        msg: 'request',
        method: row.method,
        path: row.path,
        vendor: row.vendor,
        vault_key_id: row.vault_key_id,
        agent_run_id: row.agent_run_id,
        verdict: row.policy_verdict,
        status,
        vendor_status: row.vendor_status,
        upstream_key_id: row.upstream_key_id,
        cost_usd: row.cost_usd_parsed,
        latency_ms: row.latency_ms,
      });
    },
    info(msg, fields = {}) {
      emit({ t: new Date().toISOString(), level: 'info', msg, ...fields });
    },
    warn(msg, fields = {}) {
      emit({ t: new Date().toISOString(), level: 'warn', msg, ...fields });
    },
    error(msg, err) {
      const detail =
        err instanceof Error ? `${err.name}: ${err.message}` : err === undefined ? undefined : thrownText(err);
      emit({ t: new Date().toISOString(), level: 'error', msg, error: detail });
    },
  };
}

export const silentLog: RequestLog = { request() {}, info() {}, error() {} };
