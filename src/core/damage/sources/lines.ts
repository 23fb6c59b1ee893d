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
  return () => createReadStream(path, { highWaterMark: 1 << 20 });
}

/**
 * Call `onLine(text, lineNumber)` for every line of the stream, in constant memory: only the
 * current chunk and one partial line are held. Lines are 1-based; `\r\n` is accepted.
 */
export async function forEachLine(
  stream: NodeJS.ReadableStream,
  onLine: (line: string, n: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  let rest = '';
  let n = 0;
  const decoder = new TextDecoder('utf-8');
  for await (const chunk of stream) {
    if (signal?.aborted) throw signal.reason;
    const text = rest + (typeof chunk === 'string' ? chunk : decoder.decode(chunk as Uint8Array, { stream: true }));
    let start = 0;
    let nl = text.indexOf('\n', start);
    while (nl !== -1) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(text.slice(start, end), ++n);
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest.length > 0) onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest, ++n);
}
