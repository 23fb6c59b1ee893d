import { isUtf8 } from 'node:buffer';
import { usageError } from '../../errors.js';

/** An audit row is a few hundred bytes; a line past this is not one (a bad row, skipped without holding it). */
export const MAX_LINE_BYTES = 1 << 20;

/** A line that is not UTF-8 (Latin-1, binary): the file is not what it claims to be, so nothing is summed. */
export class InvalidUtf8 extends Error {
  constructor(readonly line: number) {
    super(`line ${line} is not valid UTF-8`);
  }
}

/** The usage error (exit 2) for a file that is not UTF-8, naming it and the line. */
export const notUtf8 = (where: string, line: number) =>
  usageError(
    `${where}: line ${line} is not UTF-8 text (Latin-1, or a binary file?)`,
    'convert it first, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8',
  );

/** Where complete lines go. `end` excludes the newline and a `\r` before it; line numbers are 1-based. */
export interface LineSink {
  line(buf: Buffer, start: number, end: number, n: number): void;
  /** A line longer than the limit: its bytes were skipped. */
  tooLong(n: number): void;
}

const BOM = [0xef, 0xbb, 0xbf];

/**
 * Bytes in, lines out, in constant memory: only the partial last line is carried between pieces.
 * Lines are split on bytes (a newline byte never occurs inside a UTF-8 sequence), checked to be
 * UTF-8 a region at a time, and handed over as byte ranges: decoding is the sink's choice.
 * A UTF-8 byte-order mark at the very start is skipped.
 */
export class LineSplitter {
  /** Lines seen so far (the number of the last one handed over). */
  lines = 0;
  private rest: Buffer = Buffer.alloc(0);
  private restLen = 0;
  private skipping = false;

  constructor(
    private readonly sink: LineSink,
    private readonly opts: { maxLineBytes?: number; bomAtStart?: boolean } = {},
  ) {}

  push(buf: Buffer, start = 0, end = buf.length): void {
    if (this.restLen > 0 || this.skipping) {
      const nl = buf.indexOf(10, start);
      if (nl === -1 || nl >= end) return this.carry(buf, start, end);
      this.carry(buf, start, nl);
      this.finishCarried();
      start = nl + 1;
    }
    const last = buf.lastIndexOf(10, end - 1);
    if (last >= start) {
      if (!isUtf8(buf.subarray(start, last))) this.throwAt(buf, start, last);
      let from = start;
      for (let nl = buf.indexOf(10, from); nl !== -1 && nl <= last; nl = buf.indexOf(10, from)) {
        this.emit(buf, from, nl);
        from = nl + 1;
      }
      start = last + 1;
    }
    if (start < end) this.carry(buf, start, end);
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    if (this.restLen > 0 || this.skipping) this.finishCarried();
  }

  private carry(buf: Buffer, start: number, end: number): void {
    const max = this.opts.maxLineBytes ?? MAX_LINE_BYTES;
    if (this.skipping) return;
    const need = this.restLen + (end - start);
    if (need > max) {
      this.skipping = true;
      this.restLen = 0;
      return;
    }
    if (need > this.rest.length) {
      const grown = Buffer.allocUnsafe(Math.min(max, Math.max(need, this.rest.length * 2, 4096)));
      this.rest.copy(grown, 0, 0, this.restLen);
      this.rest = grown;
    }
    buf.copy(this.rest, this.restLen, start, end);
    this.restLen = need;
  }

  private finishCarried(): void {
    if (this.skipping) {
      this.skipping = false;
      this.sink.tooLong(++this.lines);
      return;
    }
    const len = this.restLen;
    this.restLen = 0;
    if (!isUtf8(this.rest.subarray(0, len))) throw new InvalidUtf8(this.lines + 1);
    this.emit(this.rest, 0, len);
  }

  private emit(buf: Buffer, start: number, end: number): void {
    const n = ++this.lines;
    if (end - start > (this.opts.maxLineBytes ?? MAX_LINE_BYTES)) return this.sink.tooLong(n);
    if (
      n === 1 &&
      this.opts.bomAtStart !== false &&
      end - start >= 3 &&
      buf[start] === BOM[0] &&
      buf[start + 1] === BOM[1] &&
      buf[start + 2] === BOM[2]
    )
      start += 3;
    if (end > start && buf[end - 1] === 13) end--;
    this.sink.line(buf, start, end, n);
  }

  /** The region holds bytes that are not UTF-8: name the first line that does. */
  private throwAt(buf: Buffer, start: number, last: number): never {
    let n = this.lines;
    for (let from = start; from <= last;) {
      const nl = buf.indexOf(10, from);
      n++;
      if (!isUtf8(buf.subarray(from, nl))) throw new InvalidUtf8(n);
      from = nl + 1;
    }
    throw new InvalidUtf8(n);
  }
}

/** Every piece of a stream into the splitter, then its end. */
export async function pumpStream(
  stream: NodeJS.ReadableStream,
  splitter: LineSplitter,
  signal?: AbortSignal,
): Promise<void> {
  for await (const chunk of stream) {
    if (signal?.aborted) throw signal.reason;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    splitter.push(buf, 0, buf.length);
  }
  splitter.end();
}
