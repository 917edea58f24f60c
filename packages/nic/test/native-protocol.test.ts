/**
 * The words JavaScript and the native ports exchange have one definition
 * (scripts/native-protocol.mjs): native/protocol.h and src/native/protocol.ts are generated from
 * it and must be what it generates.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DPDK, IBVERBS } from "../src/native/protocol.js";

const PKG = new URL("..", import.meta.url).pathname;
const SCRIPT = join(PKG, "scripts", "native-protocol.mjs");

describe("native protocol: one definition for the C++ and the TypeScript", () => {
  it("native/protocol.h and src/native/protocol.ts are what scripts/native-protocol.mjs generates", () => {
    const r = spawnSync(process.execPath, [SCRIPT, "--check"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
  });

  it("--check fails, naming the file, when a generated file was edited by hand", () => {
    const dir = mkdtempSync(join(tmpdir(), "sgw-proto-"));
    try {
      for (const d of ["scripts", "native", join("src", "native")]) mkdirSync(join(dir, d), { recursive: true });
      copyFileSync(SCRIPT, join(dir, "scripts", "native-protocol.mjs"));
      const h = readFileSync(join(PKG, "native", "protocol.h"), "utf8");
      writeFileSync(join(dir, "native", "protocol.h"), h.replace("kMsgWords = 4", "kMsgWords = 5"));
      copyFileSync(join(PKG, "src", "native", "protocol.ts"), join(dir, "src", "native", "protocol.ts"));
      const r = spawnSync(process.execPath, [join(dir, "scripts", "native-protocol.mjs"), "--check"], { encoding: "utf8" });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /protocol\.h differs from its definition in scripts\/native-protocol\.mjs/);
      assert.doesNotMatch(r.stderr, /protocol\.ts differs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the C++ header carries the same values the TypeScript reads", () => {
    const h = readFileSync(join(PKG, "native", "protocol.h"), "utf8");
    const ns = (name: string) => h.slice(h.indexOf(`namespace ${name}_protocol {`), h.indexOf(`}  // namespace ${name}_protocol`));
    for (const [name, p] of [["dpdk", DPDK], ["ibverbs", IBVERBS]] as const) {
      const body = ns(name);
      assert.match(body, new RegExp(`kMsgWords = ${p.MSG_WORDS};`));
      assert.match(body, new RegExp(`kSegWords = ${p.SEG_WORDS};`));
      assert.match(body, new RegExp(`kRxMetaWords = ${p.RX_META_WORDS};`));
      assert.match(body, new RegExp(`kCtlStop = ${p.CTL.STOP}\\b`));
      assert.match(body, new RegExp(`kCtlWords = ${p.CTL_WORDS}\\b`));
      assert.match(body, new RegExp(`kStopBadDesc = ${p.STOP.BAD_DESC}\\b`));
    }
  });
});
