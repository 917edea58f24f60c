/**
 * Mutations of binary protobuf inputs, for fuzz.ts and differential-cases.ts: bit flips, special
 * bytes, cuts, insertions, duplicated slices, appended inputs of the same type and random extra
 * fields. Deterministic for a given seed.
 */
import type { CorpusEntry } from "./corpus.js";

/** mulberry32: small, fast and good enough to pick mutations reproducibly */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL = [0x00, 0x01, 0x7f, 0x80, 0xff];

export class Mutator {
  constructor(private readonly rnd: () => number, private readonly corpus: CorpusEntry[]) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  /** One random field: a tag for a small field number and a well-formed value of its wire type. */
  private field(): number[] {
    const wt = [0, 1, 2, 5, 3][this.int(5)]!;
    const tag = ((1 + this.int(130)) << 3) | wt;
    const varint = (v: number) => {
      const o: number[] = [];
      while (v > 127) { o.push((v & 127) | 128); v = Math.floor(v / 128); }
      o.push(v);
      return o;
    };
    const bytes = (n: number) => Array.from({ length: n }, () => this.int(256));
    switch (wt) {
      case 0: return [...varint(tag), ...bytes(this.int(10)).map((b) => b | 0x80), this.int(128)];
      case 1: return [...varint(tag), ...bytes(8)];
      case 5: return [...varint(tag), ...bytes(4)];
      case 3: return [...varint(tag), ...varint(tag + 1)]; // an empty group
      default: {
        const n = this.int(12);
        return [...varint(tag), n, ...bytes(n)];
      }
    }
  }

  mutate(input: CorpusEntry): Uint8Array {
    let b = Array.from(input.bytes);
    for (let k = 1 + this.int(4); k > 0; k--) {
      const at = this.int(b.length + 1);
      switch (this.int(9)) {
        case 0: if (b.length) b[at % b.length]! ^= 1 << this.int(8); break;
        case 1: if (b.length) b[at % b.length] = this.int(256); break;
        case 2: if (b.length) b[at % b.length] = SPECIAL[this.int(SPECIAL.length)]!; break;
        case 3: b.splice(at, 1 + this.int(8)); break;
        case 4: b.splice(at, 0, ...Array.from({ length: 1 + this.int(8) }, () => this.int(256))); break;
        case 5: { const from = this.int(b.length + 1); b.splice(at, 0, ...b.slice(from, from + 1 + this.int(32))); break; }
        case 6: b = b.slice(0, at); break;
        case 7: { // append another input of the same type: exercises merging and last-one-wins
          const same = this.corpus.filter((e) => e.type === input.type);
          b = b.concat(Array.from(same[this.int(same.length)]!.bytes));
          break;
        }
        default: b.splice(at, 0, ...this.field()); break;
      }
    }
    return Uint8Array.from(b);
  }
}
