import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";

const ROOT = new URL("../../../", import.meta.url).pathname;

describe("@sgwire/core as a package", () => {
  it("is importable from plain Node ESM (built JavaScript, subpath exports)", () => {
    const script = `
      import { SgList, DEFAULT_COPY_THRESHOLD } from "@sgwire/core";
      import { Reader } from "@sgwire/core/wire";
      import { SgList as S2 } from "@sgwire/core/sg";
      import { RefBuffer } from "@sgwire/core/memory";
      import { defineMessage } from "@sgwire/core/codec";
      console.log(typeof SgList, SgList === S2, DEFAULT_COPY_THRESHOLD, typeof Reader, typeof RefBuffer, typeof defineMessage);
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    assert.equal(out.trim(), "function true 512 function function function");
  });
});
