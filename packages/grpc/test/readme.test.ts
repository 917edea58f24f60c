// The README's example ("From a .proto to a call") is code a user copies: it must type-check
// strictly against what `sgwire compile` generates for examples/schemas/kv_service.proto, and run.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = fileURLToPath(new URL("..", import.meta.url));
const repo = join(pkg, "../..");

/** The ```ts blocks of the README that follow `after` (a line of its prose), up to the next heading. */
function tsBlocks(readme: string, from: string, to: string): string[] {
  const start = readme.indexOf(from);
  const end = readme.indexOf(to, start);
  assert.ok(start >= 0 && end > start, `README sections "${from}" .. "${to}" not found`);
  return [...readme.slice(start, end).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("README example", function () {
  this.timeout(120_000);
  let dir: string;

  before(() => {
    // inside the package, so that @sgwire/core resolves from its node_modules
    dir = mkdtempSync(join(pkg, "test/.tmp-readme-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("type-checks strictly against the generated kv service and runs", () => {
    const readme = readFileSync(join(pkg, "README.md"), "utf8");
    const blocks = tsBlocks(readme, "A server implements the interface", "## Metadata");
    assert.equal(blocks.length, 2, "the server block and the client block");
    execFileSync(process.execPath, [join(repo, "packages/codegen/bin/sgwire.js"), "compile", "--out", join(dir, "gen"), "-I", join(repo, "examples/schemas"), join(repo, "examples/schemas/kv_service.proto")], { stdio: "pipe" });
    writeFileSync(join(dir, "main.ts"), blocks.join("\n"));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      extends: join(repo, "tsconfig.base.json"),
      compilerOptions: { noEmit: true, types: ["node"], baseUrl: ".", paths: { "@sgwire/grpc": [join(pkg, "src/index.ts")] } },
      include: ["main.ts", "gen"],
    }));
    const tsc = join(repo, "node_modules/typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { stdio: "pipe" });
    } catch (e) {
      const err = e as { stdout?: Buffer };
      assert.fail(`the README example does not type-check:\n${err.stdout?.toString() ?? String(e)}`);
    }
    // run it with @sgwire/grpc from this package's source
    writeFileSync(join(dir, "main.ts"), blocks.join("\n").replace(`from "@sgwire/grpc"`, `from ${JSON.stringify(join(pkg, "src/index.ts"))}`));
    const out = execFileSync(process.execPath, ["--import", "tsx", join(dir, "main.ts")], { cwd: pkg, encoding: "utf8", timeout: 60_000 });
    assert.equal(out, "a true\nb false\n1 70000\n");
  });
});
