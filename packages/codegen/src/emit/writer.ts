/** A tiny indenting line writer for generated code. */
export class CodeWriter {
  private lines: string[] = [];
  private depth = 0;

  line(s = ""): this {
    this.lines.push(s === "" ? "" : "  ".repeat(this.depth) + s);
    return this;
  }

  /** Writes `head {`, runs body indented, then `}` (or `tail`). */
  block(head: string, body: () => void, tail = "}"): this {
    this.line(`${head} {`);
    this.depth++;
    body();
    this.depth--;
    this.line(tail);
    return this;
  }

  indent(body: () => void): this {
    this.depth++;
    body();
    this.depth--;
    return this;
  }

  toString(): string {
    return this.lines.join("\n") + "\n";
  }
}
