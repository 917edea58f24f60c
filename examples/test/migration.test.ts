/**
 * The migration example: one program written with protobuf-es and with sgwire must print the same
 * lines (binary size, equality, clone, presence, ProtoJSON text, timestamp), and the README's
 * "Moving from protobuf-es" section must show exactly these two programs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Order } from "../gen/shop.sg.js";
import { OrderSchema } from "../gen-es/shop_pb.js";

const pkg = join(fileURLToPath(import.meta.url), "..", "..");

function run(file: string): string {
  const r = spawnSync(process.execPath, ["--import", "tsx", file], { cwd: pkg, encoding: "utf8", timeout: 30000 });
  assert.equal(r.status, 0, `${file} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The body of the fenced ts block that follows `label` in the README's migration section. */
function readmeBlock(section: string, label: string): string {
  const at = section.indexOf(label);
  assert.ok(at >= 0, `the README's migration section has "${label}"`);
  const m = /```ts\n([\s\S]*?)```/.exec(section.slice(at));
  assert.ok(m !== null, `a ts block follows "${label}"`);
  return m[1]!;
}

describe("migration example (protobuf-es and sgwire)", function () {
  this.timeout(60000);

  it("prints the same lines from both programs", function () {
    const es = run("migration/protobuf-es.ts");
    const sg = run("migration/sgwire.ts");
    assert.match(es, /^binary: \d+ bytes, equal after a round trip: true$/m);
    assert.match(es, /^json: \{"id":"o-1001",/m);
    assert.equal(sg, es);
  });

  it("writes bytes protobuf-es decodes to an equal message", function () {
    const order = Order.create({ id: "x", items: [{ sku: "a", priceCents: -5n }], delivery: { case: "pickupStore", value: "s1" } });
    const es = fromBinary(OrderSchema, Order.toBinary(order));
    assert.equal(es.id, "x");
    assert.equal(es.items[0]!.priceCents, -5n);
    assert.deepEqual(es.delivery, { case: "pickupStore", value: "s1" });
  });

  it("is what the README shows", function () {
    const readme = readFileSync(join(pkg, "..", "README.md"), "utf8");
    const start = readme.indexOf("\n## Moving from protobuf-es\n");
    assert.ok(start >= 0, "the README has a section \"Moving from protobuf-es\"");
    const section = readme.slice(start, readme.indexOf("\n## ", start + 5));
    const body = (file: string) => readFileSync(join(pkg, file), "utf8").split("\n").slice(1).join("\n"); // without the first comment line
    assert.equal(readmeBlock(section, "With protobuf-es"), body("migration/protobuf-es.ts").replace("../gen-es/", "./gen/"));
    assert.equal(readmeBlock(section, "With sgwire"), body("migration/sgwire.ts").replace("../gen/", "./gen/"));
  });
});
