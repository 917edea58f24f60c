import assert from "node:assert/strict";
import { defineMessage, defineService, methodLocalName, type MethodType, type ServiceType } from "../src/index.js";

interface Msg { a: number }
const Msg = defineMessage<Msg>({
  typeName: "t.Msg",
  size: () => 0,
  write: () => {},
  read: (r, end) => { r.pos = end; return { a: 0 }; },
  create: () => ({ a: 0 }),
});

describe("defineService (service descriptors of generated code)", () => {
  it("fills path, localName, serviceName and the stream flags from each method's kind", () => {
    const S: ServiceType<{
      get: MethodType<Msg, Msg, "unary">;
      watch: MethodType<Msg, Msg, "server_streaming">;
      put: MethodType<Msg, Msg, "client_streaming">;
      chat: MethodType<Msg, Msg, "bidi_streaming">;
    }> = defineService("pkg.sub.Svc", {
      get: { name: "Get", kind: "unary", input: Msg, output: Msg, idempotency: "no_side_effects" },
      watch: { name: "Watch", kind: "server_streaming", input: Msg, output: Msg },
      put: { name: "Put", kind: "client_streaming", input: Msg, output: Msg },
      chat: { name: "Chat", kind: "bidi_streaming", input: Msg, output: Msg },
    });
    assert.equal(S.typeName, "pkg.sub.Svc");
    assert.deepEqual(Object.keys(S.methods), ["get", "watch", "put", "chat"]);
    assert.equal(S.methods.get.path, "/pkg.sub.Svc/Get");
    assert.equal(S.methods.get.idempotency, "no_side_effects");
    assert.equal(S.methods.chat.serviceName, "pkg.sub.Svc");
    assert.deepEqual(
      Object.values(S.methods).map((m) => [m.localName, m.requestStream, m.responseStream]),
      [["get", false, false], ["watch", false, true], ["put", true, false], ["chat", true, true]],
    );
    assert.ok(Object.isFrozen(S.methods.get));
  });

  it("escapes local names that clash with properties every object has", () => {
    assert.equal(methodLocalName("GetValue"), "getValue");
    assert.equal(methodLocalName("ToString"), "toString$");
    assert.equal(methodLocalName("Constructor"), "constructor$");
    assert.equal(methodLocalName("Then"), "then$");
    assert.equal(methodLocalName("get_value"), "get_value");
  });

  it("refuses malformed descriptors with an error naming the method", () => {
    const bad = (methods: unknown, name = "a.S") => () => defineService(name, methods as never);
    assert.throws(bad({}, "not a name"), /service name "not a name" is not a qualified/);
    assert.throws(bad({ x: { name: "X", kind: "duplex", input: Msg, output: Msg } }), /a\.S\)\.x: kind "duplex" is not one of/);
    assert.throws(bad({ x: { name: "X", kind: "unary", input: {}, output: Msg } }), /x: input is not a generated message type/);
    assert.throws(bad({ x: { name: "X-1", kind: "unary", input: Msg, output: Msg } }), /method name "X-1"/);
    assert.throws(bad({ x: { name: "X", kind: "unary", input: Msg, output: Msg }, y: { name: "X", kind: "unary", input: Msg, output: Msg } }), /y: a second method named X/);
  });
});
