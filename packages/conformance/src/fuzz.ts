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
import { writeFileSync } from "node:fs";
import { DecodeError, type EncodeOptions } from "@sgwire/core";
import { readCorpus } from "./corpus.js";
import { Mutator, prng } from "./mutate.js";
import { codecFor, type AnyCodec } from "./registry.js";

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
  const summary = process.env.SGW_FUZZ_SUMMARY;
  if (summary !== undefined && summary !== "") {
    writeFileSync(summary, JSON.stringify({ seed, iterations, seeds: corpus.length, decoded, rejected, violations: violations.length }) + "\n");
  }
  console.log(`  fuzz: ${iterations} mutated inputs from ${corpus.length} seeds (${decoded} decoded, ${rejected} rejected), ${violations.length} property violations (SGW_FUZZ_SEED=${seed})`);
  return violations.length === 0 ? 0 : 1;
}

process.exitCode = main();
