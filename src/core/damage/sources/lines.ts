import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { usageError } from '../../errors.js';

export type StreamOpener = () => NodeJS.ReadableStream;

/** A file path, or `-` for the stdin given. Missing files are a usage error (exit 2). */
export async function fileOpener(path: string, stdin: NodeJS.ReadableStream): Promise<StreamOpener> {
  if (path === '-') return () => stdin;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw usageError(`audit source ${path} is not a file`);
  } catch (err) {
    if ((err as { kind?: string }).kind) throw err;
    throw usageError(`cannot read audit file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 'check the path');
  }
  return () => createReadStream(path, { highWaterMark: 1 << 18 });
}

/**
 * Call `onLine(text, lineNumber)` for every line of the stream, in constant memory: only the
 * current chunk and one partial line are held. Lines are split on bytes (a newline byte never
 * occurs inside a UTF-8 sequence) and decoded one by one. Lines are 1-based; `\r\n` is accepted.
 */
export async function forEachLine(
  stream: NodeJS.ReadableStream,
  onLine: (line: string, n: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  let rest: Buffer | null = null;
  let n = 0;
  const emit = (buf: Buffer, start: number, end: number) => {
    if (end > start && buf[end - 1] === 13) end--;
    onLine(buf.toString('utf8', start, end), ++n);
  };
  for await (const chunk of stream) {
    if (signal?.aborted) throw signal.reason;
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    let start = 0;
    let nl = buf.indexOf(10);
    if (rest !== null) {
      if (nl === -1) {
        rest = Buffer.concat([rest, buf]);
        continue;
      }
      emit(Buffer.concat([rest, buf.subarray(0, nl)]), 0, rest.length + nl);
      rest = null;
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    while (nl !== -1) {
      emit(buf, start, nl);
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    if (start < buf.length) rest = Buffer.from(buf.subarray(start));
    buf = Buffer.alloc(0);
  }
  if (rest !== null && rest.length > 0) emit(rest, 0, rest.length);
}
