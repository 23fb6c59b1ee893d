/**
 * Reading the common shapes of audit values straight from bytes, without making a string first.
 * Each reader returns NaN when the bytes are not in its one common shape; the caller then
 * decodes the text and takes the general path, so the result is always the general path's.
 */

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * `-?\d+(\.\d+)?` with at most 15 digits in all: the digits as an integer divided by a power
 * of ten. Both are exact doubles, so the division is correctly rounded: the same double as
 * Number(text), written to into[at]. False for anything else (exponents, more digits…).
 * Readers here write to an array instead of returning the number: a double returned from a call
 * that is not inlined is boxed, an allocation on every row.
 */
export function readDecimal(buf: Uint8Array, start: number, end: number, into: Float64Array, at: number): boolean {
  let i = start;
  const negative = buf[i] === 45;
  if (negative) i++;
  if (i >= end || end - i > 16) return false;
  let mantissa = 0;
  let digits = 0;
  let scale = -1;
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b >= 48 && b <= 57) {
      mantissa = mantissa * 10 + (b - 48);
      digits++;
      if (scale >= 0) scale++;
    } else if (b === 46 && scale < 0 && digits > 0) scale = 0;
    else return false;
  }
  if (digits === 0 || digits > 15 || scale === 0) return false;
  const value = scale > 0 ? mantissa / POW10[scale]! : mantissa;
  into[at] = negative ? -value : value;
  return true;
}

/** Days from 1970-01-01 to y-m-d (proleptic Gregorian; d past the month's end runs on, as Date.parse does). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

// Digits as small integers; `notDigit` collects any byte that was not one (unsigned: below '0'
// wraps high). Module state, not a closure: a closure made per call is an allocation per time read.
let notDigit = 0;
function digitAt(buf: Uint8Array, i: number): number {
  const v = buf[i]! - 48;
  notDigit |= v >>> 0 > 9 ? 1 : 0;
  return v;
}

// Rows come in time order: the day of the last time read is very likely the next one's too.
let lastDate = -1;
let lastDays = 0;

/**
 * `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.sssZ`, as the proxy writes audit times, to
 * epoch ms in into[at]: the same number Date.parse gives. False for any other shape or an
 * out-of-range part (left to Date.parse).
 */
export function readIsoZulu(buf: Uint8Array, start: number, end: number, into: Float64Array, at: number): boolean {
  const len = end - start;
  if ((len !== 20 && len !== 24) || buf[end - 1] !== 90) return false;
  const s = start;
  if (buf[s + 4] !== 45 || buf[s + 7] !== 45 || buf[s + 10] !== 84 || buf[s + 13] !== 58 || buf[s + 16] !== 58)
    return false;
  notDigit = 0;
  const d = digitAt;
  const year = d(buf, s) * 1000 + d(buf, s + 1) * 100 + d(buf, s + 2) * 10 + d(buf, s + 3);
  const month = d(buf, s + 5) * 10 + d(buf, s + 6);
  const day = d(buf, s + 8) * 10 + d(buf, s + 9);
  const hour = d(buf, s + 11) * 10 + d(buf, s + 12);
  const minute = d(buf, s + 14) * 10 + d(buf, s + 15);
  const second = d(buf, s + 17) * 10 + d(buf, s + 18);
  let ms = 0;
  if (len === 24) {
    if (buf[s + 19] !== 46) return false;
    ms = d(buf, s + 20) * 100 + d(buf, s + 21) * 10 + d(buf, s + 22);
  }
  if (notDigit !== 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59)
    return false;
  const date = year * 10000 + month * 100 + day;
  if (date !== lastDate) {
    lastDays = daysFromCivil(year, month, day);
    lastDate = date;
  }
  into[at] = lastDays * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms;
  return true;
}

// Buffer's own slice decoders, which toString(encoding, start, end) calls after checking its
// arguments; a few million calls a second make that checking visible. Fallback: toString.
type Decoders = { latin1Slice?(start: number, end: number): string; utf8Slice?(start: number, end: number): string };
const proto = Buffer.prototype as unknown as Decoders;
const direct = typeof proto.latin1Slice === 'function' && typeof proto.utf8Slice === 'function';

/** Bytes as Latin-1 (for ASCII bytes, the same text as UTF-8, decoded more cheaply). */
export const latin1 = direct
  ? (buf: Buffer, start: number, end: number): string => (buf as unknown as Required<Decoders>).latin1Slice(start, end)
  : (buf: Buffer, start: number, end: number): string => buf.toString('latin1', start, end);

/** Bytes as UTF-8. */
export const utf8 = direct
  ? (buf: Buffer, start: number, end: number): string => (buf as unknown as Required<Decoders>).utf8Slice(start, end)
  : (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end);

/** Decode bytes known to be valid UTF-8 (the file was checked); ASCII takes the cheaper path. */
export function text(buf: Buffer, start: number, end: number, ascii: boolean): string {
  return ascii ? latin1(buf, start, end) : utf8(buf, start, end);
}
