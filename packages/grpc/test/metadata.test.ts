import assert from "node:assert/strict";
import { GrpcError, Metadata, Status, isReservedHeader } from "../src/index.js";

describe("Metadata", () => {
  it("keeps several values of a key in order, keys case-insensitive", () => {
    const md = new Metadata();
    md.add("X-Trace", "a").add("x-trace", "b");
    assert.equal(md.get("x-trace"), "a");
    assert.deepEqual(md.getAll("X-TRACE"), ["a", "b"]);
    assert.equal(md.size, 1);
    assert.deepEqual([...md], [["x-trace", "a"], ["x-trace", "b"]]);
    md.set("x-trace", "c");
    assert.deepEqual(md.getAll("x-trace"), ["c"]);
    assert.equal(md.delete("X-Trace"), true);
    assert.equal(md.has("x-trace"), false);
    assert.equal(md.get("x-trace"), undefined);
    assert.deepEqual(md.getAll("x-trace"), []);
  });

  it("takes binary values only under -bin keys, and strings only under the others", () => {
    const md = new Metadata();
    md.add("blob-bin", new Uint8Array([0, 255, 1]));
    assert.deepEqual(md.get("blob-bin"), new Uint8Array([0, 255, 1]));
    assert.throws(() => md.add("blob-bin", "text"), /ends in -bin: its values must be Uint8Array/);
    assert.throws(() => md.add("plain", new Uint8Array(1)), /takes string values/);
  });

  it("refuses keys outside [0-9a-z_.-], reserved headers and non-printable values, naming them", () => {
    const md = new Metadata();
    assert.throws(() => md.add("bad key", "v"), /"bad key" has characters other than/);
    assert.throws(() => md.add("", "v"), /has characters other than/);
    assert.throws(() => md.add("grpc-timeout", "1S"), /"grpc-timeout" is reserved/);
    assert.throws(() => md.add(":path", "/x"), /reserved|characters other than/);
    assert.throws(() => md.add("x", "line\nbreak"), /outside printable ASCII/);
    assert.throws(() => md.add("x", "é"), /outside printable ASCII/);
    assert.throws(() => md.add(7 as unknown as string, "v"), /must be a string, got number/);
    assert.equal(md.size, 0, "a refused value is not half-added");
  });

  it("builds from a record or from pairs, and clones independently", () => {
    const a = new Metadata({ one: "1", many: ["x", "y"], "raw-bin": new Uint8Array([9]) });
    assert.deepEqual(a.getAll("many"), ["x", "y"]);
    const b = new Metadata([["one", "1"], ["one", "2"]]);
    assert.deepEqual(b.getAll("one"), ["1", "2"]);
    const c = a.clone();
    c.add("many", "z");
    assert.deepEqual(a.getAll("many"), ["x", "y"]);
    assert.deepEqual(c.getAll("many"), ["x", "y", "z"]);
    assert.deepEqual([...a.keys()], ["one", "many", "raw-bin"]);
  });

  it("prints binary values as base64 in toJSON", () => {
    const md = new Metadata({ "k-bin": new Uint8Array([1, 2, 3]), t: "v" });
    assert.deepEqual(md.toJSON(), { "k-bin": ["AQID"], t: ["v"] });
    assert.equal(JSON.stringify(md), '{"k-bin":["AQID"],"t":["v"]}');
  });

  it("knows the headers gRPC and HTTP/2 reserve", () => {
    for (const h of ["content-type", "te", "grpc-status", "grpc-message", "grpc-encoding", ":authority"]) assert.equal(isReservedHeader(h), true, h);
    for (const h of ["authorization", "x-request-id", "trace-bin"]) assert.equal(isReservedHeader(h), false, h);
  });
});

describe("GrpcError", () => {
  it("carries the status, the details and the trailers", () => {
    const trailers = new Metadata({ why: "missing" });
    const e = new GrpcError(Status.NOT_FOUND, "no such key", trailers);
    assert.ok(e instanceof Error);
    assert.equal(e.name, "GrpcError");
    assert.equal(e.code, 5);
    assert.equal(e.details, "no such key");
    assert.equal(e.message, "NOT_FOUND: no such key");
    assert.equal(e.metadata?.get("why"), "missing");
    assert.equal(new GrpcError(99 as Status, "odd").message, "status 99: odd");
  });

  it("numbers the statuses as the gRPC spec does", () => {
    assert.equal(Status.OK, 0);
    assert.equal(Status.DEADLINE_EXCEEDED, 4);
    assert.equal(Status.RESOURCE_EXHAUSTED, 8);
    assert.equal(Status.UNIMPLEMENTED, 12);
    assert.equal(Status.UNAVAILABLE, 14);
    assert.equal(Status.UNAUTHENTICATED, 16);
  });
});
