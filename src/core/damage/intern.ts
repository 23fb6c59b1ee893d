/** A row's text fields, by number. */
export const Text = { verdict: 0, customer: 1, run: 2, key: 3, method: 4, path: 5 } as const;

/** A row's text fields, numbered on demand by the Interner given (only the ones the row is counted by). */
export interface RowText {
  id(field: number, values: Interner): number;
}

/**
 * Distinct values (customer ids, run ids, verdicts…) numbered by their bytes, so a row read
 * from a file is counted without making a string of each value: a hash over a few bytes and a
 * probe into a table. Strings are made once per distinct value, at the end. Id 0 is null (no
 * value, or an empty one). Values that come as strings (rows read the general way) are
 * numbered by their text; the caller merges entries by their final text.
 */
export class Interner {
  private table = new Int32Array(1024); // id + 1; 0 = free
  private hashes = new Int32Array(64);
  private starts = new Int32Array(64);
  private lengths = new Int32Array(64);
  private arena = new Uint8Array(4096);
  private arenaUsed = 0;
  private texts: (string | null | undefined)[] = [null];
  private readonly byText = new Map<string, number>();
  /** Ids given so far, null included. */
  size = 1;

  /** The last buffer read from, as a DataView: values are hashed and compared four bytes at a time. */
  private view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  private viewOf: Uint8Array | null = null;
  private arenaView = new DataView(this.arena.buffer);
  /** The id ofBytes gave last (0, null, matches no bytes: its length is 0). */
  private last = 0;

  /** The id of the value in buf[start, end). */
  ofBytes(buf: Uint8Array, start: number, end: number): number {
    const len = end - start;
    if (len === 0) return 0;
    if (buf !== this.viewOf) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewOf = buf;
    }
    const view = this.view;
    // Rows repeat a verdict, a method, often a key: the last value found is tried first.
    const last = this.last;
    if (this.lengths[last] === len && this.same(last, buf, start, len)) return last;
    let h = 0x811c9dc5 ^ len;
    if (len < 4) for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    else {
      for (let i = start; i + 4 < end; i += 4) h = Math.imul(h ^ view.getInt32(i, true), 0x01000193);
      // The last four bytes as one word, overlapping the one before when len is not a multiple of 4.
      h = Math.imul(h ^ view.getInt32(end - 4, true), 0x01000193);
    }
    // Mix the high bits into the low ones the table index is taken from (murmur3's finaliser).
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    const mask = this.table.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const id = this.table[slot]! - 1;
      if (id < 0) return (this.last = this.insert(buf, start, len, h, slot));
      if (this.hashes[id] === h && this.lengths[id] === len && this.same(id, buf, start, len)) return (this.last = id);
    }
  }

  /** The id of a value given as text (null and '' are id 0). */
  ofText(text: string | null): number {
    if (text === null || text === '') return 0;
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.newId();
      this.lengths[id] = -1; // never equal to bytes: the text is the key
      this.texts[id] = text;
      this.byText.set(text, id);
    }
    return id;
  }

  /** The value of an id as text. */
  text(id: number): string | null {
    let t = this.texts[id];
    if (t === undefined) {
      const s = this.starts[id]!;
      t = Buffer.from(this.arena.buffer, this.arena.byteOffset + s, this.lengths[id]).toString('utf8');
      this.texts[id] = t;
    }
    return t;
  }

  /** Forget every value (a bounded cache); ids start again from 1. */
  clear(): void {
    this.table.fill(0);
    this.arenaUsed = 0;
    this.last = 0;
    this.texts = [null];
    this.byText.clear();
    this.size = 1;
  }

  private same(id: number, buf: Uint8Array, start: number, len: number): boolean {
    const a = this.arena;
    const av = this.arenaView;
    const view = this.view;
    const s = this.starts[id]!;
    if (len < 4) {
      for (let k = 0; k < len; k++) if (a[s + k] !== buf[start + k]) return false;
      return true;
    }
    for (let k = 0; k + 4 < len; k += 4) if (av.getInt32(s + k, true) !== view.getInt32(start + k, true)) return false;
    return av.getInt32(s + len - 4, true) === view.getInt32(start + len - 4, true);
  }

  private newId(): number {
    const id = this.size++;
    if (id >= this.hashes.length) {
      const grow = <T extends Int32Array>(a: T) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.hashes = grow(this.hashes);
      this.starts = grow(this.starts);
      this.lengths = grow(this.lengths);
    }
    this.texts[id] = undefined;
    return id;
  }

  private insert(buf: Uint8Array, start: number, len: number, h: number, slot: number): number {
    const id = this.newId();
    if (this.arenaUsed + len > this.arena.length) {
      const bigger = new Uint8Array(Math.max(this.arena.length * 2, this.arenaUsed + len));
      bigger.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = bigger;
      this.arenaView = new DataView(bigger.buffer);
    }
    this.arena.set(buf.subarray(start, start + len), this.arenaUsed);
    this.hashes[id] = h;
    this.starts[id] = this.arenaUsed;
    this.lengths[id] = len;
    this.arenaUsed += len;
    this.table[slot] = id + 1;
    // Keep the table at most half full, so probes stay short.
    if (this.size * 2 > this.table.length) this.rehash();
    return id;
  }

  private rehash(): void {
    const table = new Int32Array(this.table.length * 2);
    const mask = table.length - 1;
    for (let id = 1; id < this.size; id++) {
      if (this.lengths[id]! < 0) continue;
      let slot = this.hashes[id]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = id + 1;
    }
    this.table = table;
  }
}

/** Calls and micro-dollars per id of an Interner. */
export class Tally {
  calls = new Float64Array(64);
  micros = new Float64Array(64);

  add(id: number, micros: number): void {
    if (id >= this.calls.length) this.grow(id);
    this.calls[id]! += 1;
    this.micros[id]! += micros;
  }

  private grow(id: number): void {
    const n = Math.max(id + 1, this.calls.length * 2);
    const calls = new Float64Array(n);
    const micros = new Float64Array(n);
    calls.set(this.calls);
    micros.set(this.micros);
    this.calls = calls;
    this.micros = micros;
  }
}
