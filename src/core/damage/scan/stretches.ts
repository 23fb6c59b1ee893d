import { readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { ColumnMap } from '../columns.js';
import type { Stretch } from './lane.js';
import { csvHeader, splitCsv } from './csv-sink.js';
import { utf8 } from './bytes.js';

const WINDOW = 1 << 16;

/** The first line start at or after `at` (a newline at at-1 or later), or `size`. */
function lineStartFrom(fd: number, at: number, size: number, buf: Buffer): number {
  for (let pos = at - 1; pos < size; pos += WINDOW) {
    const n = readSync(fd, buf, 0, Math.min(WINDOW, size - pos), pos);
    if (n === 0) return size;
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl !== -1) return pos + nl + 1;
  }
  return size;
}

/**
 * Cut [from, size) into stretches of about `target` bytes, each starting at a line start, so
 * every line is read whole by exactly one stretch. A line longer than a stretch makes its
 * stretch longer; the reader bounds what it holds of it.
 */
export function lineStretches(fd: number, from: number, size: number, target: number): Stretch[] {
  const buf = Buffer.allocUnsafe(WINDOW);
  const bounds = [from];
  for (let at = from + target; at < size; at += target) {
    if (at <= bounds[bounds.length - 1]!) continue;
    const start = lineStartFrom(fd, at, size, buf);
    if (start >= size) break;
    if (start > bounds[bounds.length - 1]!) bounds.push(start);
  }
  return bounds.map((start, index) => ({
    index,
    start,
    end: bounds[index + 1] ?? size,
    last: index === bounds.length - 1,
  }));
}

export interface CsvHead {
  header: string[];
  /** Byte offset just after the header line. */
  end: number;
  /** Lines up to and including the header (blank lines before it count). */
  lines: number;
}

/**
 * The CSV header, read on its own so the rest can be cut into stretches: the first non-blank
 * line. Null when it is not simple enough to read here (a quoted field spanning lines, no
 * newline in the first 64 KiB, not UTF-8): the caller then reads the file in one stretch.
 */
export function readCsvHead(fd: number, cols: ColumnMap): CsvHead | null {
  const buf = Buffer.allocUnsafe(WINDOW);
  const n = readSync(fd, buf, 0, WINDOW, 0);
  let lines = 0;
  for (let pos = 0; pos < n;) {
    const nl = buf.subarray(0, n).indexOf(10, pos);
    if (nl === -1) return null;
    lines++;
    let start = pos;
    if (pos === 0 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3;
    const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl;
    if (!isUtf8(buf.subarray(start, end))) return null;
    const text = utf8(buf, start, end);
    pos = nl + 1;
    if (text.trim() === '') continue;
    const fields = splitCsv(text);
    return fields === null ? null : { header: csvHeader(fields, cols), end: pos, lines };
  }
  return null;
}
