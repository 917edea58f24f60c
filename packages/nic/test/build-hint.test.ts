import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { addonBuildHint } from "../src/native/build-hint.js";

describe("addon build hint", function () {
  it("names a command the user can run where the package is installed", function () {
    assert.equal(addonBuildHint("/work/sgwire/packages/nic"), "pnpm --filter @sgwire/nic run build");
    assert.equal(addonBuildHint("/home/u/app/node_modules/@sgwire/nic"), "npm rebuild @sgwire/nic");
    const pnpm = addonBuildHint("/home/u/app/node_modules/.pnpm/@sgwire+nic@0.1.0/node_modules/@sgwire/nic");
    assert.match(pnpm, /^pnpm rebuild @sgwire\/nic /);
    assert.match(pnpm, /allowBuilds/);
  });

  it("the install script does nothing in a checkout (the workspace build builds the addon)", function () {
    const script = fileURLToPath(new URL("../scripts/install.mjs", import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: "utf8" });
    assert.equal(r.status, 0);
    assert.equal(r.stdout, "");
  });
});
