// The README's "Reflection" and "Everyday helpers" examples are code a user copies: they must
// type-check strictly against what `sgwire compile` generates for the README's shop.proto, and
// print what the README says. The generated code imports @sgwire/core's dist/: build core first.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PKG = new URL("../", import.meta.url).pathname;
const ROOT = new URL("../../../", import.meta.url).pathname;

/** The README text from heading `from` up to the next `## ` heading. */
function section(readme: string, from: string): string {
  const start = readme.indexOf(`\n${from}\n`);
  assert.ok(start >= 0, `README section "${from}" not found`);
  const end = readme.indexOf("\n## ", start + from.length + 2);
  return readme.slice(start, end < 0 ? undefined : end);
}
function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!);
}

describe("README: Reflection and Everyday helpers examples", function () {
  this.timeout(180_000);
  let dir = "";
  let reflection = "";
  let helpers = "";

  before(() => {
    const readme = readFileSync(join(PKG, "README.md"), "utf8");
    reflection = section(readme, "## Reflection");
    helpers = section(readme, "## Everyday helpers");
    dir = mkdtempSync(join(tmpdir(), "sgwire-readme-reflect-"));
    const [proto] = blocks(reflection, "proto");
    assert.ok(proto, "the Reflection section has the schema");
    writeFileSync(join(dir, "shop.proto"), proto);
    mkdirSync(join(dir, "node_modules", "@sgwire"), { recursive: true });
    symlinkSync(PKG, join(dir, "node_modules", "@sgwire", "core"), "dir");
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    execFileSync(process.execPath, [join(ROOT, "packages/codegen/bin/sgwire.js"), "compile", "-I", dir, "--out", join(dir, "gen"), join(dir, "shop.proto")], { encoding: "utf8" });
    const ts = (text: string) => {
      const b = blocks(text, "ts");
      assert.equal(b.length, 1, "one ts block");
      return b[0]!;
    };
    writeFileSync(join(dir, "reflection.ts"), ts(reflection));
    writeFileSync(join(dir, "helpers.ts"), ts(helpers));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("type-check under tsc --strict", () => {
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", types: ["node"], typeRoots: [join(ROOT, "node_modules/@types")], skipLibCheck: false, noUncheckedIndexedAccess: true },
      include: ["reflection.ts", "helpers.ts"],
    }));
    try {
      execFileSync(process.execPath, [createRequire(import.meta.url).resolve("typescript/bin/tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      assert.fail(`the README examples do not type-check:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
    }
  });

  it("the pretty-printer prints what the README shows", () => {
    const [expected] = blocks(reflection, "text");
    const out = execFileSync(process.execPath, ["--import", "tsx", join(dir, "reflection.ts")], { cwd: PKG, encoding: "utf8" });
    assert.equal(out, expected);
  });

  it("the helpers example prints what its comments say", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", join(dir, "helpers.ts")], { cwd: PKG, encoding: "utf8" });
    const printed = out.trimEnd().split("\n");
    assert.deepEqual(printed, ["[Object: null prototype] {} 0", "true", "false", "true", "false", "true true"]);
    const comments = blocks(helpers, "ts")[0]!.split("\n").filter((l) => l.startsWith("console.log(")).map((l) => l.slice(l.lastIndexOf("// ") + 3));
    assert.equal(comments.length, printed.length);
    printed.forEach((p, i) => assert.ok(comments[i]!.startsWith(p), `comment ${i} "${comments[i]!}" says what it prints ("${p}")`));
  });
});
