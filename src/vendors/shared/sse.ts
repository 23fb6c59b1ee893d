/**
 * Server-sent events as they pass through the proxy. Chunks do not align with events, so a
 * line (or an event) cut by a chunk boundary is held until its end arrives. Only the lines that
 * contain a marker are decoded and parsed: the rest of the stream is bytes we do not look at.
 */
const EMPTY = Buffer.alloc(0);
/** A single line longer than this is not a usage line we could use: stop holding it. */
const MAX_HELD = 1 << 20;

function parseData(line: string): unknown {
  const i = line.indexOf('data:');
  if (i !== 0) return undefined;
  try {
    return JSON.parse(line.slice(5));
  } catch {
    return undefined;
  }
}

/** Watches a stream without changing it: `push` returns the chunk it was given. */
export class SseWatcher {
  private held: Buffer | null = null;
  /** lastOnly: the last matching line seen, parsed only at the end. */
  private last: Buffer | null = null;
  /** A line was too long to hold: what it carried is lost. */
  overflowed = false;

  /** `lastOnly`: every event repeats the figure (Gemini's running usage), so only the last one is read. */
  constructor(
    private readonly markers: readonly Buffer[],
    private readonly onData: (data: Record<string, unknown>) => void,
    private readonly lastOnly = false,
  ) {}

  push = (chunk: Buffer): Buffer => {
    const nl = chunk.lastIndexOf(10);
    if (nl < 0) {
      this.hold(chunk);
      return chunk;
    }
    const lines = this.held ? Buffer.concat([this.held, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1);
    this.held = nl + 1 < chunk.length ? Buffer.from(chunk.subarray(nl + 1)) : null;
    this.scan(lines);
    return chunk;
  };

  end(): void {
    if (this.held) this.scan(this.held);
    this.held = null;
    if (this.last) this.deliver(this.last.toString('utf8'));
    this.last = null;
  }

  private deliver(line: string): void {
    const data = parseData(line.trim());
    if (data && typeof data === 'object') this.onData(data as Record<string, unknown>);
  }

  private hold(chunk: Buffer): void {
    const next = this.held ? Buffer.concat([this.held, chunk]) : Buffer.from(chunk);
    if (next.length > MAX_HELD) {
      this.held = null;
      this.overflowed = true;
    } else this.held = next;
  }

  private scan(lines: Buffer): void {
    if (this.lastOnly) return this.keepLast(lines);
    if (!this.markers.some((m) => lines.includes(m))) return;
    for (const line of lines.toString('utf8').split('\n'))
      if (this.markers.some((m) => line.includes(m.toString()))) this.deliver(line);
  }

  /** The line around the last marker in these bytes, copied (nothing is decoded until the end). */
  private keepLast(lines: Buffer): void {
    const at = Math.max(...this.markers.map((m) => lines.lastIndexOf(m)));
    if (at < 0) return;
    const start = lines.lastIndexOf(10, at) + 1;
    const nl = lines.indexOf(10, at);
    this.last = Buffer.from(lines.subarray(start, nl < 0 ? lines.length : nl));
  }
}

/**
 * Rewrites a stream event by event: holds bytes up to the last complete event, passes events
 * without a marker through untouched, and gives those with one to `edit`, which returns the
 * event to send (possibly changed) or null to drop it.
 */
export class SseEventEditor {
  private held: Buffer | null = null;

  /** `fast`: what to do, without decoding, to bytes that hold no marker (most of a stream). */
  constructor(
    private readonly marker: Buffer,
    private readonly edit: (event: string) => string | null,
    private readonly fast: (events: Buffer) => Buffer = (b) => b,
  ) {}

  push = (chunk: Buffer): Buffer => {
    const all = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    const cut = lastEventEnd(all);
    if (cut < 0) {
      this.held = Buffer.from(all);
      return EMPTY;
    }
    this.held = cut < all.length ? Buffer.from(all.subarray(cut)) : null;
    const events = all.subarray(0, cut);
    return events.includes(this.marker) ? Buffer.from(this.rewrite(events.toString('utf8'))) : this.fast(events);
  };

  flush = (): Buffer => {
    const rest = this.held ?? EMPTY;
    this.held = null;
    return rest.length && rest.includes(this.marker)
      ? Buffer.from(this.rewrite(rest.toString('utf8')))
      : this.fast(rest);
  };

  private rewrite(text: string): string {
    const sep = text.includes('\r\n\r\n') ? '\r\n\r\n' : '\n\n';
    const out: string[] = [];
    for (const ev of text.split(sep)) {
      if (ev === '') continue;
      const edited = ev.includes(this.marker.toString()) ? this.edit(ev) : this.fast(Buffer.from(ev)).toString('utf8');
      if (edited !== null) out.push(edited + sep);
    }
    return out.join('');
  }
}

/** The bytes with every occurrence of `needle` replaced by `by` (no decoding; the input itself when there is none). */
export function replaceBytes(buf: Buffer, needle: Buffer, by: Buffer = EMPTY): Buffer {
  let at = buf.indexOf(needle);
  if (at < 0) return buf;
  const parts: Buffer[] = [];
  let from = 0;
  while (at >= 0) {
    parts.push(buf.subarray(from, at), by);
    from = at + needle.length;
    at = buf.indexOf(needle, from);
  }
  parts.push(buf.subarray(from));
  return Buffer.concat(parts);
}

/** The offset just past the last event separator (a blank line), or -1. */
function lastEventEnd(buf: Buffer): number {
  const lf = buf.lastIndexOf('\n\n');
  const crlf = buf.lastIndexOf('\r\n\r\n');
  if (crlf >= 0 && crlf + 4 > lf + 2) return crlf + 4;
  return lf < 0 ? -1 : lf + 2;
}

/** The JSON object of an event's `data:` line, or undefined. */
export function eventData(event: string): Record<string, unknown> | undefined {
  for (const line of event.split(/\r?\n/)) {
    const d = parseData(line);
    if (d && typeof d === 'object') return d as Record<string, unknown>;
  }
  return undefined;
}
