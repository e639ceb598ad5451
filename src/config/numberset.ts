// Compact constant-time set of phone numbers for blacklists of millions of entries.
//
// Each number of 1-15 digits is encoded as the integer whose decimal text is "1" followed by the
// digits: leading zeros survive (010… ≠ 10…) and the value stays below 2^53, so it is exact in a
// float64. Keys live in an open-addressing table (Float64Array, linear probing, load ≤ 0.5,
// 0 = empty): 1M numbers take 16 MB and a lookup is a hash and one or two probes. Numbers that do
// not fit the encoding (longer, or not digits) fall back to an ordinary Set.
import type { NumberSet } from './types.js';

const TWO_32 = 4294967296;

/** "01012345678" → 101012345678; NaN if not 1-15 ASCII digits. */
export function encodeNumber(digits: string): number {
  const n = digits.length;
  if (n === 0 || n > 15) return NaN;
  let v = 1;
  for (let i = 0; i < n; i++) {
    const c = digits.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/** 32-bit mix of an encoded key (< 2^53). */
function mix(key: number): number {
  const lo = key >>> 0; // key mod 2^32
  const hi = (key / TWO_32) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x27d4eb2d), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class CompactNumberSet implements NumberSet {
  static readonly EMPTY = new CompactNumberSet(new Float64Array(2), 0, 0, new Set());

  private readonly mask: number;

  private constructor(
    private readonly table: Float64Array,
    readonly size: number,
    /** Order-independent content hash, so diffs can tell "same size, different numbers". */
    readonly fingerprint: number,
    private readonly other: ReadonlySet<string>,
  ) {
    this.mask = table.length - 1;
  }

  /** Build from an iterable of already-normalised numbers (small sets, tests). */
  static async of(numbers: Iterable<string>): Promise<CompactNumberSet> {
    const b = new NumberSetBuilder();
    for (const n of numbers) b.add(n);
    return b.build();
  }

  has(number: string): boolean {
    const key = encodeNumber(number);
    if (key !== key) return this.other.has(number); // NaN: not encodable
    const t = this.table;
    const mask = this.mask;
    let i = mix(key) & mask;
    for (;;) {
      const k = t[i]!;
      if (k === key) return true;
      if (k === 0) return false;
      i = (i + 1) & mask;
    }
  }

  /** Approximate memory held, in bytes. */
  get bytes(): number {
    return this.table.byteLength + this.other.size * 64;
  }

  /** All numbers (for diffs of small sets and tests); order unspecified. */
  *values(): IterableIterator<string> {
    for (const k of this.table) if (k !== 0) yield String(k).slice(1);
    yield* this.other;
  }

  /** @internal used by NumberSetBuilder */
  static fromTable(table: Float64Array, size: number, fingerprint: number, other: ReadonlySet<string>): CompactNumberSet {
    return new CompactNumberSet(table, size, fingerprint, other);
  }
}

/** Accumulates numbers (duplicates allowed), then builds the table off the hot path in slices. */
export class NumberSetBuilder {
  private keys = new Float64Array(1024);
  private count = 0;
  private readonly other = new Set<string>();

  /** Adds one normalised number. */
  add(number: string): void {
    const key = encodeNumber(number);
    if (key !== key) {
      this.other.add(number);
      return;
    }
    if (this.count === this.keys.length) {
      const grown = new Float64Array(this.keys.length * 2);
      grown.set(this.keys);
      this.keys = grown;
    }
    this.keys[this.count++] = key;
  }

  /** Numbers added so far, duplicates included. */
  get added(): number {
    return this.count + this.other.size;
  }

  /**
   * Builds the set, yielding to the event loop every `slice` inserts so a reload of a million
   * numbers never holds up call handling for more than a few milliseconds at a time.
   */
  async build(slice = 32_768): Promise<CompactNumberSet> {
    let cap = 2;
    while (cap < this.count * 2) cap *= 2;
    const table = new Float64Array(cap);
    const mask = cap - 1;
    let size = 0;
    let fingerprint = 0;
    const keys = this.keys;
    for (let start = 0; start < this.count; start += slice) {
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const end = Math.min(this.count, start + slice);
      for (let j = start; j < end; j++) {
        const key = keys[j]!;
        const h = mix(key);
        let i = h & mask;
        for (;;) {
          const k = table[i]!;
          if (k === key) break; // duplicate
          if (k === 0) {
            table[i] = key;
            size++;
            fingerprint = (fingerprint + h) >>> 0;
            break;
          }
          i = (i + 1) & mask;
        }
      }
    }
    for (const s of this.other) fingerprint = (fingerprint + stringHash(s)) >>> 0;
    this.keys = new Float64Array(0);
    return CompactNumberSet.fromTable(table, size + this.other.size, fingerprint, new Set(this.other));
  }
}

function stringHash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
