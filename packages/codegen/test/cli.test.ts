import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES } from "./oracle.js";

const PKG = new URL("..", import.meta.url).pathname;
const BIN = join(PKG, "bin", "sgwire.js");
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });

describe("sgwire CLI", () => {
  let out: string;
  // inside the package, so generated modules resolve @sgwire/core from its node_modules
  beforeEach(() => {
    out = mkdtempSync(join(PKG, "test", ".tmp-"));
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it("--target js writes plain ESM that Node runs as it is, with declarations", () => {
    const r = run("compile", "--target", "js", "--out", out, "-I", FIXTURES, join(FIXTURES, "everything.proto"));
    assert.equal(r.status, 0, r.stderr);
    for (const f of ["everything.sg.js", "everything.sg.d.ts", "common.sg.js", "common.sg.d.ts"]) assert.ok(existsSync(join(out, f)), f);
    const dts = readFileSync(join(out, "everything.sg.d.ts"), "utf8");
    assert.match(dts, /export declare const Everything: MessageType<Everything>;/);
    assert.match(dts, /import \* as \$dep0 from "\.\/common\.sg\.js";/);
    const script = `
      import { Everything } from ${JSON.stringify(join(out, "everything.sg.js"))};
      const payload = new Uint8Array(4096).fill(5);
      const list = Everything.encode({ ...Everything.create(), common: { id: "x", blob: payload, values: [1n] } });
      const back = Everything.fromBinary(list.toBinary());
      console.log(list.segments.length, list.segments.includes(payload), back.common.id, back.common.blob.length);
    `;
    const stdout = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", cwd: out });
    assert.equal(stdout.trim(), "3 true x 4096");
  });

  it("--target js without the typescript package (an optional peer) says what to install, an unwritable --out is one line; target ts does not need typescript", () => {
    // a preload that makes require("typescript") fail as it does where the package is not installed
    const hide = join(out, "no-typescript.cjs");
    writeFileSync(
      hide,
      `const M = require("node:module"); const r = M._resolveFilename;
       M._resolveFilename = function (req, ...rest) {
         if (req === "typescript") { const e = new Error("Cannot find module 'typescript'"); e.code = "MODULE_NOT_FOUND"; throw e; }
         return r.call(this, req, ...rest);
       };`,
    );
    const noTs = (...args: string[]) => spawnSync(process.execPath, ["--require", hide, BIN, ...args], { encoding: "utf8" });
    const js = noTs("compile", "--target", "js", "--out", out, "-I", FIXTURES, join(FIXTURES, "small.proto"));
    assert.equal(js.status, 1, js.stderr);
    assert.match(js.stderr, /target "js" transpiles the generated TypeScript with the typescript package, which is not installed: add it to your project \(npm install -D typescript/);
    assert.doesNotMatch(js.stderr, /\n\s+at /, "no stack trace");
    assert.ok(!existsSync(join(out, "small.sg.js")));
    const blocked = join(out, "a-file");
    writeFileSync(blocked, "");
    const unwritable = run("compile", "--out", join(blocked, "gen"), "-I", FIXTURES, join(FIXTURES, "small.proto"));
    assert.equal(unwritable.status, 1);
    assert.match(unwritable.stderr, /^sgwire: ENOTDIR: not a directory/);
    const ts = noTs("compile", "--out", out, "-I", FIXTURES, join(FIXTURES, "small.proto"));
    assert.equal(ts.status, 0, ts.stderr);
    assert.ok(existsSync(join(out, "small.sg.ts")));
  });

  it("bakes --copy-threshold into the generated codecs", () => {
    const r = run("compile", "--copy-threshold", "64", "--out", out, "-I", FIXTURES, join(FIXTURES, "small.proto"));
    assert.equal(r.status, 0, r.stderr);
    const ts = readFileSync(join(out, "small.sg.ts"), "utf8");
    assert.match(ts, /copy-threshold=64/);
    assert.match(ts, /create: create\$Entry, copyThreshold: 64,/);
  });

  it("honours --import-extension", () => {
    const r = run("compile", "--import-extension", ".ts", "--out", out, "-I", FIXTURES, join(FIXTURES, "everything.proto"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(readFileSync(join(out, "everything.sg.ts"), "utf8"), /from "\.\/common\.sg\.ts";/);
  });

  it("reports schema errors with file:line:column and exit status 1", () => {
    const bad = join(out, "bad.proto");
    writeFileSync(bad, 'syntax = "proto3";\nmessage A {\n  int32 = 1;\n}\n');
    const r = run("compile", "--out", out, bad);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /bad\.proto:3:\d+: illegal/);
  });

  it("hands `nic` to @sgwire/nic when the project has it, and says how to get it when not", () => {
    const root = join(PKG, "..", "..");
    const ok = spawnSync(process.execPath, [BIN, "nic", "info"], { encoding: "utf8", cwd: root });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^udp\s+available/m);
    // pnpm's mocha shim sets NODE_PATH to the store's hoisted folder, which holds @sgwire/nic
    const env = { ...process.env };
    delete env.NODE_PATH;
    const none = spawnSync(process.execPath, [BIN, "nic", "info"], { encoding: "utf8", cwd: "/", env });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /needs @sgwire\/nic, which is not installed in this project/);
  });

  it("reports usage errors with exit status 2", () => {
    assert.equal(run().status, 2);
    const r = run("compile", "--target", "go", join(FIXTURES, "small.proto"));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--target must be ts or js, got go/);
    assert.match(run("compile").stderr, /no \.proto files given/);
    assert.match(run("compile", "--copy-threshold", "-4", "x.proto").stderr, /--copy-threshold must be a whole number of bytes/);
    assert.match(run("frobnicate").stderr, /unknown command frobnicate/);
    assert.equal(run("--help").status, 0);
  });
});
