/**
 * The fast path for one JSONL line: check that it is a JSON object and note where the values of
 * the wanted keys sit, without building the object. It only ever says "sure" for a flat object
 * of strings, numbers, booleans and nulls; anything else (nesting, an escaped key or wanted
 * value, a byte out of place) is UNSURE and the caller runs JSON.parse on the line instead, so
 * what the fast path accepts is always exactly what JSON.parse would have produced.
 */

import { ValueKind, type FieldSlots } from './row-builder.js';

const SURE = true;
const UNSURE = false;

const isWs = (b: number) => b === 32 || b === 9 || b === 13;
const isDigit = (b: number) => b >= 48 && b <= 57;
const isHex = (b: number) => isDigit(b) || (b >= 65 && b <= 70) || (b >= 97 && b <= 102);

export class JsonLineScanner {
  /** Wanted key names as bytes, grouped by length for a quick first test. */
  private readonly byLength = new Map<number, { bytes: Uint8Array; slot: number }[]>();
  /**
   * The keys of the last lines, by position: lines from one writer repeat their keys in the same
   * order, so the key at position k is first compared with the one seen there before (its bytes
   * from the opening quote to the colon, a word at a time) and is only scanned and looked up when
   * it differs.
   */
  private readonly known: (KnownKey | undefined)[] = [];
  /** The buffer being scanned, read four bytes at a time for the known-key comparison. */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | null = null;
  // Results of the last string or number scanned (module-level state would be shared between sources).
  private strEnd = 0;
  private strAscii = true;
  private strEscaped = false;

  constructor(readonly slots: FieldSlots) {
    slots.names.forEach((name, slot) => {
      const list = this.byLength.get(name.length) ?? [];
      list.push({ bytes: Buffer.from(name, 'latin1'), slot });
      this.byLength.set(name.length, list);
    });
  }

  /** Scan buf[start, end): SURE when the slots now describe the line, UNSURE to take JSON.parse. */
  scan(buf: Uint8Array, start: number, end: number): boolean {
    this.slots.kind.fill(ValueKind.Absent);
    if (buf !== this.viewOf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewOf = buf;
    }
    const view = this.view;
    let i = skipWs(buf, start, end);
    if (buf[i] !== 123) return UNSURE;
    i = skipWs(buf, i + 1, end);
    if (buf[i] === 125) return skipWs(buf, i + 1, end) === end ? SURE : UNSURE;
    for (let k = 0; ; k++) {
      const known = this.known[k];
      let slot: number;
      if (known !== undefined && sameKey(view, buf, i, end, known)) {
        // The key, its closing quote and the colon, as on the line before.
        slot = known.slot;
        i += known.length;
      } else {
        const keyStart = i;
        if (buf[i] !== 34 || !this.string(buf, i + 1, end) || this.strEscaped) return UNSURE;
        const close = this.strEnd;
        slot = this.slotOf(buf, i + 1, close);
        i = skipWs(buf, close + 1, end);
        if (buf[i] !== 58) return UNSURE;
        // Remembered with its colon when that follows the quote at once (as writers put it).
        if (k < MAX_KNOWN_KEYS)
          this.known[k] = i === close + 1 ? knownKey(buf.slice(keyStart, i + 1), slot) : undefined;
        i++;
      }
      i = skipWs(buf, i, end);
      if (buf[i] === 34) {
        // A string of plain bytes, the usual value, read here; anything else in it goes to value().
        let j = i + 1;
        let m = 0;
        while (j + 4 <= end && (m = specialBytes(view.getInt32(j, true))) === 0) j += 4;
        // The first byte that is not plain: the lowest flagged one (the flags above it may be false).
        if (m !== 0) j += (31 - Math.clz32(m & -m)) >> 3;
        else while (j < end && BYTE_CLASS[buf[j]!] === PLAIN) j++;
        if (j < end && buf[j] === 34) {
          if (slot >= 0) {
            const s = this.slots;
            s.kind[slot] = ValueKind.String;
            s.start[slot] = i + 1;
            s.end[slot] = j;
            s.ascii[slot] = 1;
          }
          i = j + 1;
        } else i = this.value(buf, i, end, slot);
      } else i = this.value(buf, i, end, slot);
      if (i < 0) return UNSURE;
      i = skipWs(buf, i, end);
      if (buf[i] === 44) {
        i = skipWs(buf, i + 1, end);
        continue;
      }
      if (buf[i] !== 125) return UNSURE;
      return skipWs(buf, i + 1, end) === end ? SURE : UNSURE;
    }
  }

  /** The slot of the key at buf[start, end), or -1 when it is not wanted. */
  private slotOf(buf: Uint8Array, start: number, end: number): number {
    const list = this.byLength.get(end - start);
    if (list === undefined) return -1;
    outer: for (const { bytes, slot } of list) {
      for (let k = 0; k < bytes.length; k++) if (buf[start + k] !== bytes[k]) continue outer;
      return slot;
    }
    return -1;
  }

  /** One value; returns the index after it, or -1 when unsure. Records it in `slot` when wanted. */
  private value(buf: Uint8Array, i: number, end: number, slot: number): number {
    const b = buf[i];
    let kind: number;
    let vStart = i;
    let vEnd: number;
    if (b === 34) {
      if (!this.string(buf, i + 1, end)) return -1;
      vStart = i + 1;
      vEnd = this.strEnd;
      kind = this.strEscaped ? ValueKind.Other : ValueKind.String;
      i = vEnd + 1;
    } else if (b === 45 || (b !== undefined && isDigit(b))) {
      vEnd = number(buf, i, end);
      if (vEnd < 0) return -1;
      kind = ValueKind.Number;
      i = vEnd;
    } else {
      const lit = literal(buf, i, end);
      if (lit === 0) return -1;
      kind = lit === 1 ? ValueKind.Null : ValueKind.Other;
      vEnd = i + (lit === 1 || lit === 2 ? 4 : 5);
      i = vEnd;
    }
    if (slot >= 0) {
      const s = this.slots;
      s.kind[slot] = kind;
      s.start[slot] = vStart;
      s.end[slot] = vEnd;
      s.ascii[slot] = this.strAscii ? 1 : 0;
    }
    return i;
  }

  /** A string body from i (after the opening quote). Sets strEnd (the closing quote), strAscii, strEscaped. */
  private string(buf: Uint8Array, i: number, end: number): boolean {
    const view = this.view;
    let ascii = true;
    let escaped = false;
    for (; i < end; i++) {
      // Four plain bytes at a time while they last; a word with anything else goes byte by byte.
      while (i + 4 <= end && specialBytes(view.getInt32(i, true)) === 0) i += 4;
      if (i >= end) break;
      const c = BYTE_CLASS[buf[i]!]!;
      if (c === PLAIN) continue;
      if (c === QUOTE) {
        this.strEnd = i;
        this.strAscii = ascii;
        this.strEscaped = escaped;
        return true;
      }
      if (c === HIGH) ascii = false;
      else if (c === CONTROL) return false;
      else {
        escaped = true;
        const e = buf[++i];
        if (e === 117) {
          if (i + 4 >= end || !isHex(buf[i + 1]!) || !isHex(buf[i + 2]!) || !isHex(buf[i + 3]!) || !isHex(buf[i + 4]!))
            return false;
          i += 4;
        } else if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116)
          return false;
      }
    }
    return false;
  }
}

// What a byte means inside a JSON string: one table lookup per byte in the common case.
const PLAIN = 0;
const QUOTE = 1;
const BACKSLASH = 2;
const CONTROL = 3;
const HIGH = 4;
/**
 * The bytes of a little-endian word that are a quote, a backslash, a control byte or ≥ 0x80, as
 * their top bits (0: four plain bytes). The usual bit tricks for "some byte is zero" (after xor
 * with the byte looked for) and "some byte is below 0x20": a borrow can flag a byte above a
 * flagged one too, so only the lowest flag is sure to be a byte of those kinds, and it always is
 * the first such byte.
 */
function specialBytes(x: number): number {
  const q = x ^ 0x22222222;
  const b = x ^ 0x5c5c5c5c;
  return (x | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b) | ((x - 0x20202020) & ~x)) & 0x80808080;
}

const BYTE_CLASS = Uint8Array.from({ length: 256 }, (_, b) =>
  b === 34 ? QUOTE : b === 92 ? BACKSLASH : b < 32 ? CONTROL : b >= 128 ? HIGH : PLAIN,
);

/** Keys remembered by position: enough for any audit row. */
const MAX_KNOWN_KEYS = 64;

/** A key seen at a position on an earlier line, from its opening quote to the colon after it: as 32-bit words. */
interface KnownKey {
  length: number;
  bytes: Uint8Array;
  words: Int32Array;
  /** The word ending at the key's last byte (it overlaps the one before when the length is not a multiple of four). */
  last: number;
  slot: number;
}

function knownKey(bytes: Uint8Array, slot: number): KnownKey {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words = Int32Array.from({ length: bytes.length >> 2 }, (_, w) => view.getInt32(w * 4, true));
  const last = bytes.length >= 4 ? view.getInt32(bytes.length - 4, true) : 0;
  return { length: bytes.length, bytes, words, last, slot };
}

/**
 * buf[i, i + key.length) is the key (and within the line): compared a word at a time, as keys
 * are half a row's bytes and this is the scan's most frequent comparison.
 */
function sameKey(view: DataView, buf: Uint8Array, i: number, end: number, key: KnownKey): boolean {
  const n = key.length;
  if (i + n > end) return false;
  if (n < 4) {
    for (let k = 0; k < n; k++) if (buf[i + k] !== key.bytes[k]) return false;
    return true;
  }
  const words = key.words;
  for (let w = 0; w < words.length; w++) if (view.getInt32(i + w * 4, true) !== words[w]) return false;
  return view.getInt32(i + n - 4, true) === key.last;
}

function skipWs(buf: Uint8Array, i: number, end: number): number {
  while (i < end && isWs(buf[i]!)) i++;
  return i;
}

/** JSON's number grammar from i; the index after it, or -1. */
function number(buf: Uint8Array, i: number, end: number): number {
  if (buf[i] === 45) i++;
  if (buf[i] === 48) i++;
  else if (i < end && buf[i]! >= 49 && buf[i]! <= 57) while (i < end && isDigit(buf[i]!)) i++;
  else return -1;
  if (buf[i] === 46) {
    i++;
    if (!(i < end && isDigit(buf[i]!))) return -1;
    while (i < end && isDigit(buf[i]!)) i++;
  }
  if (buf[i] === 101 || buf[i] === 69) {
    i++;
    if (buf[i] === 43 || buf[i] === 45) i++;
    if (!(i < end && isDigit(buf[i]!))) return -1;
    while (i < end && isDigit(buf[i]!)) i++;
  }
  return i;
}

/** null → 1, true → 2, false → 3, anything else → 0. */
function literal(buf: Uint8Array, i: number, end: number): number {
  const b = buf[i];
  if (b === 110 && i + 4 <= end && buf[i + 1] === 117 && buf[i + 2] === 108 && buf[i + 3] === 108) return 1;
  if (b === 116 && i + 4 <= end && buf[i + 1] === 114 && buf[i + 2] === 117 && buf[i + 3] === 101) return 2;
  if (b === 102 && i + 5 <= end && buf[i + 1] === 97 && buf[i + 2] === 108 && buf[i + 3] === 115 && buf[i + 4] === 101)
    return 3;
  return 0;
}
