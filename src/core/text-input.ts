/**
 * Text files people give us (playbooks, the config, JWKs) must be UTF-8: Latin-1 bytes silently
 * turned into U+FFFD would change an id or a URL without a word. A byte-order mark is tolerated.
 */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The text, without a BOM; undefined when the bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The 1-based line of the first byte that is not UTF-8 (for "file:line" messages). */
export function firstBadUtf8Line(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      if (decodeUtf8(bytes.subarray(start, i)) === undefined) return line;
      line++;
      start = i + 1;
    }
  }
  return line;
}
