/**
 * Writes the cases for the libprotobuf differential (scripts/differential.sh): the suite's proto2
 * and proto3 inputs plus mutants of them (mutate.ts), each with sgwire's answer, the re-encoded
 * bytes or the DecodeError. One JSON line per case: {"type", "in", "sg" (hex or null), "err"}.
 * Only proto2 and proto3: the libprotobuf this is compared with (Debian 12's 3.21) predates
 * editions.
 *
 * usage: node dist/differential-cases.js CORPUS.jsonl OUT.jsonl [SEED] [MUTANTS]
 */
import { writeFileSync } from "node:fs";
import { DecodeError } from "@sgwire/core";
import { readCorpus, type CorpusEntry } from "./corpus.js";
import { Mutator, prng } from "./mutate.js";
import { codecFor } from "./registry.js";

const TYPES = new Set(["protobuf_test_messages.proto2.TestAllTypesProto2", "protobuf_test_messages.proto3.TestAllTypesProto3"]);

function main(): number {
  const [corpusFile, outFile, seedArg, countArg] = process.argv.slice(2);
  if (corpusFile === undefined || outFile === undefined) {
    console.error("usage: node dist/differential-cases.js CORPUS.jsonl OUT.jsonl [SEED] [MUTANTS]");
    return 2;
  }
  const corpus = readCorpus(corpusFile).filter((e) => TYPES.has(e.type));
  const mutator = new Mutator(prng(Number(seedArg ?? 1)), corpus);
  const cases: CorpusEntry[] = [...corpus];
  for (let i = Number(countArg ?? 20000); i > 0; i--) {
    const seed = corpus[mutator.int(corpus.length)]!;
    cases.push({ type: seed.type, bytes: mutator.mutate(seed) });
  }
  const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");
  const lines = cases.map(({ type, bytes }) => {
    const codec = codecFor(type)!;
    let sg: string | null = null, err: string | null = null;
    try {
      sg = hex(codec.toBinary(codec.fromBinary(bytes)));
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      err = e.message;
    }
    return JSON.stringify({ type, in: hex(bytes), sg, err });
  });
  writeFileSync(outFile, lines.join("\n") + "\n");
  console.log(`differential: ${lines.length} cases (${corpus.length} from the suite) in ${outFile}`);
  return 0;
}

process.exitCode = main();
