/**
 * A corpus of binary protobuf inputs, one JSON line per input: {"type": "<message type>",
 * "hex": "<payload>"}. The testee writes the suite's inputs into one (SGW_CONFORMANCE_CORPUS);
 * fuzz.ts mutates them.
 */
import { appendFileSync, readFileSync } from "node:fs";

export interface CorpusEntry {
  type: string;
  bytes: Uint8Array;
}

export class CorpusWriter {
  private lines: string[] = [];
  constructor(private readonly file: string) {}

  add(type: string, bytes: Uint8Array): void {
    this.lines.push(JSON.stringify({ type, hex: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex") }));
  }

  /** Appends what was added; several testee processes (one per suite) share the file. */
  close(): void {
    if (this.lines.length > 0) appendFileSync(this.file, this.lines.join("\n") + "\n");
    this.lines = [];
  }
}

export function readCorpus(file: string): CorpusEntry[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const { type, hex } = JSON.parse(l) as { type: string; hex: string };
      return { type, bytes: new Uint8Array(Buffer.from(hex, "hex")) };
    });
}
