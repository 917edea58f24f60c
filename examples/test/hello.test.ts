/** hello.ts as a program: it must show a referenced attachment that arrives as a byte-identical view. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = join(fileURLToPath(import.meta.url), "..", "..");

function hello(args: string[]): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", "hello.ts", ...args], { cwd: pkg, encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, `hello.ts ${args.join(" ")} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe("hello", function () {
  this.timeout(60000);
  for (const backend of ["udp", "tcp"]) {
    it(`sends the attachment by reference over ${backend} and receives it as a view`, function () {
      const out = hello(["--backend", backend]);
      assert.match(out, /encode -> 2 segments/);
      assert.match(out, /referenced: the attachment buffer itself/);
      assert.match(out, /bytes copied 30, bytes referenced 32768/);
      assert.match(out, /is a view of the receive buffer .*: true/);
      assert.match(out, /byte-identical to what was sent: true/);
      assert.match(out, /protobufjs decodes the same bytes: .* identical: true/);
    });
  }

  it("copies a small attachment instead (below the copy threshold)", function () {
    const out = hello(["--size", "100"]);
    assert.match(out, /encode -> 1 segments/);
    assert.match(out, /below the copy threshold: copied, not lent/);
  });

  it("rejects bad options with a message naming them", function () {
    const r = spawnSync(process.execPath, ["--import", "tsx", "hello.ts", "--backend", "pigeon"], { cwd: pkg, encoding: "utf8", timeout: 30000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--backend must be udp or tcp, got pigeon/);
  });
});
