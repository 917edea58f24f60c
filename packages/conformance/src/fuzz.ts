/**
 * Mutation fuzzing seeded with the conformance suite's own binary inputs (the corpus the testee
 * saved during the run). Each mutant is decoded with the generated codec; the properties:
 *
 * 1. fromBinary returns a message or throws a DecodeError: no other exception, ever;
 * 2. a decoded message encodes to the same bytes through every path: `encode()` segments
 *    concatenated under the default policy, with threshold 0, and with threshold 0 under a
 *    3-segment budget (which must be respected), `toBinary()`, and `encodedSize()` agrees;
 * 3. those bytes are a fixed point: they decode, and the result encodes to the same bytes.
 *
 * Deterministic: SGW_FUZZ_SEED (default 1) and SGW_FUZZ_ITERATIONS (default 20000).
 * usage: node dist/fuzz.js CORPUS.jsonl; exits 1 on any violation, printing the inputs.
 */
import { DecodeError, type EncodeOptions } from "@sgwire/core";
import { readCorpus, type CorpusEntry } from "./corpus.js";
import { codecFor, type AnyCodec } from "./registry.js";

/** mulberry32: small, fast and good enough to pick mutations reproducibly */
function prng(seed: number): () => number {
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
const POLICIES: EncodeOptions[] = [{}, { copyThreshold: 0 }, { copyThreshold: 0, maxSegments: 3 }];

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array, max = 200): string {
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, max)).toString("hex");
  return b.length > max ? `${s}... (${b.length} bytes)` : s;
}

class Mutator {
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

/** Checks properties 2 and 3 for a decoded message; returns a violation or null. */
function checkEncode(codec: AnyCodec, msg: unknown): string | null {
  const bin = codec.toBinary(msg);
  if (codec.encodedSize(msg) !== bin.length) return `encodedSize ${codec.encodedSize(msg)} but toBinary wrote ${bin.length} bytes`;
  for (const p of POLICIES) {
    const list = codec.encode(msg, p);
    if (p.maxSegments !== undefined && list.segments.length > p.maxSegments) return `${list.segments.length} segments over maxSegments ${p.maxSegments}`;
    if (!same(concat(list.segments), bin)) return `encode(${JSON.stringify(p)}) differs from toBinary`;
  }
  let again: unknown;
  try {
    again = codec.fromBinary(bin);
  } catch (err) {
    return `own output does not decode: ${String(err)}`;
  }
  if (!same(codec.toBinary(again), bin)) return "own output does not re-encode to itself";
  return null;
}

function main(): number {
  const file = process.argv[2];
  if (file === undefined) {
    console.error("usage: node dist/fuzz.js CORPUS.jsonl");
    return 2;
  }
  const seed = Number(process.env.SGW_FUZZ_SEED ?? 1);
  const iterations = Number(process.env.SGW_FUZZ_ITERATIONS ?? 20000);
  const corpus = readCorpus(file).filter((e) => codecFor(e.type) !== undefined);
  if (corpus.length === 0) {
    console.error(`fuzz: no usable inputs in ${file}`);
    return 2;
  }
  const rnd = prng(seed);
  const mutator = new Mutator(rnd, corpus);
  let decoded = 0, rejected = 0;
  const violations: string[] = [];
  for (let i = 0; i < iterations; i++) {
    const seedInput = corpus[mutator.int(corpus.length)]!;
    const codec = codecFor(seedInput.type)!;
    const input = mutator.mutate(seedInput);
    let problem: string | null;
    try {
      const msg = codec.fromBinary(input);
      decoded++;
      problem = checkEncode(codec, msg);
    } catch (err) {
      if (err instanceof DecodeError) {
        rejected++;
        continue;
      }
      problem = `fromBinary threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
    }
    if (problem !== null) violations.push(`${seedInput.type}: ${problem}\n    input: ${hex(input)}`);
  }
  for (const v of violations.slice(0, 10)) console.error(`fuzz: ${v}`);
  console.log(`  fuzz: ${iterations} mutated inputs from ${corpus.length} seeds (${decoded} decoded, ${rejected} rejected), ${violations.length} property violations (SGW_FUZZ_SEED=${seed})`);
  return violations.length === 0 ? 0 : 1;
}

process.exitCode = main();
