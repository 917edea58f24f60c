/**
 * Every workload the suite times must first pass its own checks: the protobuf encoders produce
 * identical bytes and every decoder gives back the workload's fields (mixed suite: maps, int64,
 * oneofs, enums, nested messages), converted for each peer. Runs the checks without timing.
 */
import { strict as assert } from "node:assert";
import { checkCases } from "../src/suite.js";
import { sameFields } from "../src/check.js";
import { QUICK_GRID, workloads } from "../src/shapes.js";
import { sgwirePeer } from "../src/peers/sgwire.js";
import { protobufjsPeer } from "../src/peers/protobufjs.js";
import { bufbuildPeer } from "../src/peers/bufbuild.js";
import { flatbuffersPeer } from "../src/peers/flatbuffers.js";

const peers = [sgwirePeer, protobufjsPeer, bufbuildPeer, flatbuffersPeer];

describe("codec suite: the peers agree before anything is timed", function () {
  this.timeout(60000);
  for (const w of workloads({ ...QUICK_GRID, bytesSizes: [16, 4096], listCounts: [1, 4] })) {
    it(`${w.id}: same bytes from every protobuf encoder, same fields from every decoder`, () => {
      const cases = peers.flatMap((p) => p.cases(w));
      assert.ok(cases.some((c) => c.lib === "protobufjs" && c.op === "decode"));
      checkCases(w, cases);
    });
  }

  it("the mixed suite has a fresh encode and no flatbuffers case (no tables for maps and oneofs)", () => {
    const w = workloads(QUICK_GRID, new Set(["mixed"]));
    assert.deepEqual(w.map((x) => x.id), ["mixed/event", "mixed/profile", "mixed/batch"]);
    const cases = peers.flatMap((p) => p.cases(w[1]!));
    assert.ok(cases.some((c) => c.lib === "sgwire encode (fresh)"));
    assert.ok(!cases.some((c) => c.lib === "flatbuffers"));
  });

  it("a decoder that loses a 64-bit value, a oneof or a map entry is caught", () => {
    assert.equal(sameFields({ a: 5n }, { a: "5" }), null);
    assert.match(sameFields({ a: 5n }, { a: "6" }) ?? "", /\$\.a: expected 5, got 6/);
    assert.match(sameFields({ o: { case: "phone", value: "1" } }, { o: { case: "address", value: "1" } }) ?? "", /\$\.o\.case/);
    assert.match(sameFields({ m: { x: "1", y: "2" } }, { m: { x: "1" } }) ?? "", /\$\.m\.y/);
  });
});
