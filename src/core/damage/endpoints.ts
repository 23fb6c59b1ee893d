import type { Counted } from './types.js';
import { endpointTemplate } from '../../proxy/store/audit-shared.js';
import { Interner, Text, type RowText } from './intern.js';

export type EndpointEntry = Counted & { method: string | null; path: string | null };

/** Raw paths remembered at most: a million distinct ids in paths cannot grow memory. */
const MAX_PATHS = 10_000;
/** Method ids below this have their (method, raw path) pairs cached; any others are looked up by text. */
const METHOD_SPAN = 4096;

/**
 * Calls and cost per endpoint, grouped by path template (`/v1/charges/{id}`) as the proxy
 * groups them. Raw paths are numbered (bounded: forgotten in bulk when too many), and each
 * (method, raw path) pair points at its template's entry, so the template is worked out once.
 */
export class EndpointTally {
  readonly methods = new Interner();
  readonly paths = new Interner();
  private readonly entries = new Map<string, EndpointEntry>();
  /** The entry of each (method id, raw path id): by method, then by path. */
  private byIds: (EndpointEntry | undefined)[][] = [];

  add(text: RowText, micros: number): void {
    // Forget the raw paths in bulk when there are too many: before numbering this row's.
    if (this.paths.size >= MAX_PATHS) {
      this.paths.clear();
      this.byIds = [];
    }
    const path = text.id(Text.path, this.paths);
    const method = text.id(Text.method, this.methods);
    const byPath = method < METHOD_SPAN ? (this.byIds[method] ??= []) : undefined;
    let e = byPath?.[path];
    if (e === undefined) {
      e = this.entry(this.methods.text(method), this.paths.text(path));
      if (byPath) byPath[path] = e;
    }
    e.calls++;
    e.cost_micros += micros;
  }

  private entry(method: string | null, rawPath: string | null): EndpointEntry {
    const path = rawPath === null ? null : endpointTemplate(rawPath);
    const key = `${method ?? ''} ${path ?? ''}`;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = { method, path, calls: 0, cost_micros: 0 };
      this.entries.set(key, e);
    }
    return e;
  }

  toMap(): Map<string, EndpointEntry> {
    return new Map([...this.entries].map(([k, e]) => [k, { ...e }]));
  }
}
