import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { usageError } from '../../errors.js';
import { InvalidUtf8, LineSplitter, notUtf8, pumpStream } from '../scan/lines.js';
import type { TextInput } from '../scan/text.js';
import { utf8 } from '../scan/bytes.js';

export type StreamOpener = () => NodeJS.ReadableStream;

/**
 * A path as a text input, or `-` for the stdin given. A regular file can be read in stretches;
 * a pipe (`<(zcat audit.gz)`) is read as a stream. Missing files and directories are usage errors (exit 2).
 */
export async function textInput(path: string, stdin: NodeJS.ReadableStream, label: string): Promise<TextInput> {
  if (path === '-') return { label, path: null, open: () => stdin };
  let regular: boolean;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw usageError(`audit source ${path} is a directory`, 'name the audit file in it');
    regular = st.isFile();
  } catch (err) {
    if ((err as { kind?: string }).kind) throw err;
    throw usageError(
      `cannot read audit file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      'check the path',
    );
  }
  return { label, path: regular ? path : null, open: () => createReadStream(path, { highWaterMark: 1 << 18 }) };
}

/** A path's stream opener (as textInput checks it), or `-` for the stdin given. */
export async function fileOpener(path: string, stdin: NodeJS.ReadableStream): Promise<StreamOpener> {
  return (await textInput(path, stdin, path)).open;
}

/**
 * Call `onLine(text, lineNumber)` for every line of the stream: only the current chunk and one
 * partial line are held. Lines are 1-based; `\r\n` is accepted, a byte-order mark at the start
 * skipped. Bytes that are not UTF-8 are a usage error naming the line, never replaced.
 */
export async function forEachLine(
  stream: NodeJS.ReadableStream,
  onLine: (line: string, n: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  const splitter = new LineSplitter(
    {
      line: (buf, start, end, n) => onLine(utf8(buf, start, end), n),
      tooLong: () => {},
    },
    { maxLineBytes: Infinity },
  );
  try {
    await pumpStream(stream, splitter, signal);
  } catch (err) {
    if (!(err instanceof InvalidUtf8)) throw err;
    const path = (stream as { path?: unknown }).path;
    throw notUtf8(typeof path === 'string' ? path : 'stdin', err.line);
  }
}
