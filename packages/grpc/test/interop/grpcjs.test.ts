/**
 * Interoperability with @grpc/grpc-js (the schema loaded by @grpc/proto-loader, protobufjs codecs:
 * what a grpc-js user has), both ways, every scenario of scenarios.ts. A control pair (grpc-js
 * client against grpc-js server) runs the same table, so a check that only sgwire passes would
 * show there.
 */
import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { GrpcServer, Status, createChannel, type Channel } from "../../src/index.js";
import { Interop } from "./gen/interop.sg.js";
import { grpcjsClient, runGrpcjsCall, startGrpcjsServer, stopGrpcjsServer } from "./grpcjs-peer.js";
import { describeWith } from "../../../nic/test/suite/requirements.js";
import { Code, EventLog, KiB, MAX_MESSAGE, MiB, scenarios, tlsScenarios, type CallPlan, type CallResult } from "./scenarios.js";
import { runSgwireCall, sgwireClient, sgwireImplementation, type InteropClient } from "./sgwire-peer.js";
import { TLS_NAME, makeCert, opensslMissing, type TestCert } from "./tls.js";

const GRPCJS_VERSION = (createRequire(import.meta.url)("@grpc/grpc-js/package.json") as { version: string }).version;

/** How many calls of a scenario end with a status other than OK. */
function FAILING_CALLS(name: string): number {
  return ({ errors: 5, deadline: 3, cancel: 3, "server-fails": 4 } as Record<string, number>)[name] ?? 0;
}

async function runAll(run: (plan: CallPlan) => Promise<CallResult>, calls: CallPlan[]): Promise<CallResult[]> {
  const out: CallResult[] = [];
  for (const c of calls) out.push(await run(c));
  return out;
}

/** Attaches the results to a failed check, so the report shows what the client saw. */
async function checked(check: () => Promise<void> | void, results: CallResult[]): Promise<void> {
  try {
    await check();
  } catch (err) {
    const seen = results.map((r) => ({ ...r, responses: `${r.responses.length} responses` }));
    (err as Error).message += `\nwhat the client saw: ${JSON.stringify(seen)}`;
    throw err;
  }
}

describe(`interop with @grpc/grpc-js ${GRPCJS_VERSION}`, function () {
  describe("sgwire client -> grpc-js server", function () {
    const log = new EventLog();
    let server: grpc.Server | undefined;
    let channel: Channel | undefined;
    let client: InteropClient;

    before(async function () {
      const s = await startGrpcjsServer(log);
      server = s.server;
      channel = createChannel(`http://127.0.0.1:${s.port}`, { maxReceiveMessageBytes: MAX_MESSAGE });
      client = sgwireClient(channel);
    });
    after(async function () {
      channel?.close();
      await stopGrpcjsServer(server);
    });

    for (const s of scenarios) {
      it(s.title, async function () {
        const results = await runAll((c) => runSgwireCall(client, c), s.calls);
        await checked(() => s.check(results, { server: log }), results);
      });
    }
  });

  describe("grpc-js client -> sgwire server", function () {
    const log = new EventLog();
    let server: GrpcServer | undefined;
    let client: grpc.Client | undefined;

    before(async function () {
      server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE });
      server.addService(Interop, sgwireImplementation(log));
      const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
      client = grpcjsClient(`127.0.0.1:${port}`);
    });
    after(async function () {
      client?.close();
      await server?.close(1000);
    });

    // the scenarios run so far (all of them, unless mocha was given -g)
    const ran: string[] = [];
    for (const s of scenarios) {
      it(s.title, async function () {
        ran.push(s.name);
        const results = await runAll((c) => runGrpcjsCall(client!, c), s.calls);
        await checked(() => s.check(results, { server: log }), results);
      });
    }

    it("counted every call it served and has none left running", async function () {
      const made = scenarios.filter((s) => ran.includes(s.name));
      const total = made.reduce((n, s) => n + s.calls.length, 0);
      assert.equal(server!.stats.calls, total, `the server dispatched ${server!.stats.calls} calls, the scenarios made ${total}`);
      // cancelled calls end when their reset arrives: give them a moment
      for (let i = 0; i < 50 && server!.stats.active > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server!.stats.active, 0);
      const failing = made.reduce((n, s) => n + FAILING_CALLS(s.name), 0);
      assert.equal(server!.stats.failed, failing, "calls that ended with a status other than OK");
      assert.equal(server!.stats.ok, total - failing, "calls that ended OK");
      if (ran.includes("cancel")) {
        assert.ok(server!.stats.cancelled >= 3, `the cancel scenario's 3 calls are cancelled by the client; the server counted ${server!.stats.cancelled}`);
      }
    });
  });

  describe("grpc-js client with sgwire codecs (toGrpcJsService, the drop-in switch) -> sgwire server", function () {
    const log = new EventLog();
    let server: GrpcServer | undefined;
    let client: grpc.Client | undefined;

    before(async function () {
      server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE });
      server.addService(Interop, sgwireImplementation(log));
      const { port } = await server.listen({ host: "127.0.0.1", port: 0 });
      client = grpcjsClient(`127.0.0.1:${port}`);
    });
    after(async function () {
      client?.close();
      await server?.close(1000);
    });

    for (const s of scenarios) {
      it(s.title, async function () {
        const results = await runAll((c) => runGrpcjsCall(client!, c, "sgwire"), s.calls);
        await checked(() => s.check(results, { server: log }), results);
      });
    }
  });

  describeWith("openssl", opensslMissing())("over TLS (h2; a self-signed certificate for localhost)", function () {
    let cert: TestCert | undefined;
    before(function () {
      cert = makeCert();
    });
    after(function () {
      cert?.remove();
    });

    describe("sgwire client -> grpc-js TLS server", function () {
      const log = new EventLog();
      let server: grpc.Server | undefined;
      let channel: Channel | undefined;
      let client: InteropClient;
      let port = 0;
      before(async function () {
        const s = await startGrpcjsServer(log, cert);
        server = s.server;
        port = s.port;
        channel = createChannel(`https://127.0.0.1:${s.port}`, { ca: cert!.cert, servername: TLS_NAME, maxReceiveMessageBytes: MAX_MESSAGE });
        client = sgwireClient(channel);
      });
      after(async function () {
        channel?.close();
        await stopGrpcjsServer(server);
      });
      for (const s of tlsScenarios) {
        it(s.title, async function () {
          const results = await runAll((c) => runSgwireCall(client, c), s.calls);
          await checked(() => s.check(results, { server: log }), results);
        });
      }

      it("without the certificate authority the call fails UNAVAILABLE, and cleartext gets no gRPC answer", async function () {
        const untrusting = createChannel(`https://127.0.0.1:${port}`, { servername: TLS_NAME });
        const cleartext = createChannel(`http://127.0.0.1:${port}`);
        try {
          const plan: CallPlan = { label: "untrusted", method: "unary", deadlineMs: 10_000, requests: [{ id: "tls-untrusted" }] };
          const r = await runSgwireCall(sgwireClient(untrusting), plan);
          assert.equal(r.code, Status.UNAVAILABLE, `${r.code}: ${r.details}`);
          assert.match(r.details, /certificate/i);
          const c = await runSgwireCall(sgwireClient(cleartext), { ...plan, label: "cleartext" });
          assert.notEqual(c.code, Status.OK, "a cleartext call to a TLS port succeeded");
        } finally {
          untrusting.close();
          cleartext.close();
        }
      });
    });

    describe("grpc-js client -> sgwire TLS server", function () {
      const log = new EventLog();
      let server: GrpcServer | undefined;
      let client: grpc.Client | undefined;
      before(async function () {
        server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE });
        server.addService(Interop, sgwireImplementation(log));
        const { port } = await server.listen({ host: "127.0.0.1", port: 0, tls: { key: cert!.key, cert: cert!.cert } });
        client = grpcjsClient(`127.0.0.1:${port}`, { ca: cert!.cert, name: TLS_NAME });
      });
      after(async function () {
        client?.close();
        await server?.close(1000);
      });
      for (const s of tlsScenarios) {
        it(s.title, async function () {
          const results = await runAll((c) => runGrpcjsCall(client!, c), s.calls);
          await checked(() => s.check(results, { server: log }), results);
        });
      }
    });
  });

  describe("default receive limits (4 MiB): a 4 MiB payload (a message a few bytes over 4 MiB) is refused both ways", function () {
    const BIG_RESPONSE: CallPlan = { label: "big-response", method: "unary", requests: [{ id: "lim-res", responseSizes: [4 * MiB] }] };
    const BIG_REQUEST: CallPlan = { label: "big-request", method: "unary", requests: [{ id: "lim-req", payload: { size: 4 * MiB, seed: 1 } }] };
    const JUST_UNDER: CallPlan = { label: "under", method: "unary", requests: [{ id: "lim-ok", responseSizes: [4 * MiB - 64] }] };
    const log = new EventLog();
    let jsServer: grpc.Server | undefined;
    let sgServer: GrpcServer | undefined;
    let jsPort = 0;
    let sgPort = 0;
    before(async function () {
      // each server sends without limit and receives with its default
      ({ server: jsServer, port: jsPort } = await startGrpcjsServer(log, undefined, {}));
      sgServer = new GrpcServer();
      sgServer.addService(Interop, sgwireImplementation(log));
      ({ port: sgPort } = await sgServer.listen({ host: "127.0.0.1", port: 0 }));
    });
    after(async function () {
      await stopGrpcjsServer(jsServer);
      await sgServer?.close(1000);
    });

    it("sgwire client <- grpc-js server: RESOURCE_EXHAUSTED on the sgwire client, a message under the limit arrives", async function () {
      const channel = createChannel(`http://127.0.0.1:${jsPort}`);
      try {
        const client = sgwireClient(channel);
        const r = await runSgwireCall(client, BIG_RESPONSE);
        assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${r.code}: ${r.details}`);
        const ok = await runSgwireCall(client, JUST_UNDER);
        assert.equal(ok.code, Code.OK, ok.details);
        assert.equal(ok.responses[0]!.size, 4 * MiB - 64);
      } finally {
        channel.close();
      }
    });

    it("sgwire client -> grpc-js server: the grpc-js server refuses the 4 MiB request with RESOURCE_EXHAUSTED", async function () {
      const channel = createChannel(`http://127.0.0.1:${jsPort}`);
      try {
        const r = await runSgwireCall(sgwireClient(channel), BIG_REQUEST);
        assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${r.code}: ${r.details}`);
      } finally {
        channel.close();
      }
    });

    it("grpc-js client <- sgwire server: RESOURCE_EXHAUSTED on the grpc-js client", async function () {
      const client = grpcjsClient(`127.0.0.1:${sgPort}`, undefined, {});
      try {
        const r = await runGrpcjsCall(client, BIG_RESPONSE);
        assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${r.code}: ${r.details}`);
      } finally {
        client.close();
      }
    });

    it("grpc-js client -> sgwire server: the sgwire server refuses the 4 MiB request with RESOURCE_EXHAUSTED, and serves the next", async function () {
      const client = grpcjsClient(`127.0.0.1:${sgPort}`, undefined, {});
      try {
        const r = await runGrpcjsCall(client, BIG_REQUEST);
        assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${r.code}: ${r.details}`);
        const ok = await runGrpcjsCall(client, { label: "after", method: "unary", requests: [{ id: "lim-after", payload: { size: KiB, seed: 2 } }] });
        assert.equal(ok.code, Code.OK, ok.details);
      } finally {
        client.close();
      }
    });
  });

  describe("control: grpc-js client -> grpc-js server (the table itself)", function () {
    const log = new EventLog();
    let server: grpc.Server | undefined;
    let client: grpc.Client | undefined;

    before(async function () {
      const s = await startGrpcjsServer(log);
      server = s.server;
      client = grpcjsClient(`127.0.0.1:${s.port}`);
    });
    after(async function () {
      client?.close();
      await stopGrpcjsServer(server);
    });

    for (const s of scenarios) {
      it(s.name, async function () {
        const results = await runAll((c) => runGrpcjsCall(client!, c), s.calls);
        await checked(() => s.check(results, { server: log }), results);
      });
    }
  });
});

