/**
 * Interoperability with gRPC C-core, a second implementation independent of Node's HTTP/2: Python's
 * grpcio (Debian's python3-grpcio) as peer_server.py and peer_client.py, both ways, every scenario
 * of scenarios.ts. Two control pairs (grpc-js client -> C-core server, C-core client -> grpc-js
 * server) run the same table between the two reference implementations.
 *
 * Needs the requirement "grpcio" (/usr/bin/python3 with grpc and google.protobuf, /usr/bin/protoc):
 * without it the suite is pending with the reason, and fails under SGWIRE_REQUIRE=all (CI).
 */
import * as grpc from "@grpc/grpc-js";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describeWith } from "../../../nic/test/suite/requirements.js";
import { GrpcServer, createChannel, type Channel } from "../../src/index.js";
import { Interop } from "./gen/interop.sg.js";
import { grpcjsClient, runGrpcjsCall, startGrpcjsServer, stopGrpcjsServer } from "./grpcjs-peer.js";
import { generatePb2, grpcioMissing, grpcioVersion, killPythonChildren, runPythonClient, startPythonServer, type PythonServer } from "./python-peer.js";
import { Code, EventLog, KiB, MAX_MESSAGE, MiB, scenarios, tlsScenarios, type CallPlan, type CallResult, type Scenario } from "./scenarios.js";
import { runSgwireCall, sgwireClient, sgwireImplementation, type InteropClient } from "./sgwire-peer.js";
import { TLS_NAME, makeCert, opensslMissing, type TestCert } from "./tls.js";

const missing = grpcioMissing();
const title = `interop with gRPC C-core (python3-grpcio ${missing === undefined ? grpcioVersion() : "?"})`;

async function runAll(run: (plan: CallPlan) => Promise<CallResult>, calls: CallPlan[]): Promise<CallResult[]> {
  const out: CallResult[] = [];
  for (const c of calls) out.push(await run(c));
  return out;
}

/** Runs a check, adding what the client saw (and the Python server's stderr) to its failure. */
async function checked(s: Scenario, results: CallResult[], log: EventLog, stderr?: () => string): Promise<void> {
  try {
    await s.check(results, { server: log });
  } catch (err) {
    const seen = results.map((r) => ({ ...r, responses: `${r.responses.length} responses` }));
    (err as Error).message += `\nwhat the client saw: ${JSON.stringify(seen)}`;
    if (stderr !== undefined && stderr().trim() !== "") (err as Error).message += `\npeer_server.py stderr: ${stderr().trim()}`;
    throw err;
  }
}

describeWith("grpcio", missing)(title, function () {
  let pb2 = "";
  before(function () {
    pb2 = generatePb2();
  });
  after(function () {
    killPythonChildren();
    if (pb2 !== "") rmSync(pb2, { recursive: true, force: true });
  });

  describe("sgwire client -> C-core server", function () {
    let py: PythonServer | undefined;
    let channel: Channel | undefined;
    let client: InteropClient;
    before(async function () {
      py = await startPythonServer(pb2);
      channel = createChannel(`http://127.0.0.1:${py.port}`, { maxReceiveMessageBytes: MAX_MESSAGE });
      client = sgwireClient(channel);
    });
    after(async function () {
      channel?.close();
      await py?.stop();
    });

    for (const s of scenarios) {
      it(s.title, async function () {
        const results = await runAll((c) => runSgwireCall(client, c), s.calls);
        await checked(s, results, py!.log, py!.stderr);
      });
    }
  });

  describe("C-core client -> sgwire server", function () {
    const log = new EventLog();
    let server: GrpcServer | undefined;
    let port = 0;
    before(async function () {
      server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE });
      server.addService(Interop, sgwireImplementation(log));
      ({ port } = await server.listen({ host: "127.0.0.1", port: 0 }));
    });
    after(async function () {
      await server?.close(1000);
    });

    // the scenarios run so far (all of them, unless mocha was given -g)
    const ran: string[] = [];
    for (const s of scenarios) {
      it(s.title, async function () {
        ran.push(s.name);
        const results = await runPythonClient(`127.0.0.1:${port}`, s, pb2);
        await checked(s, results, log);
      });
    }

    it("has no call left running once the clients are gone", async function () {
      for (let i = 0; i < 50 && server!.stats.active > 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(server!.stats.active, 0);
      assert.equal(server!.stats.calls, scenarios.filter((s) => ran.includes(s.name)).reduce((n, s) => n + s.calls.length, 0));
    });
  });

  describeWith("openssl", opensslMissing())("over TLS (h2; a self-signed certificate for localhost)", function () {
    let cert: TestCert | undefined;
    before(function () {
      cert = makeCert();
    });
    after(function () {
      cert?.remove();
    });

    describe("sgwire client -> C-core TLS server", function () {
      let py: PythonServer | undefined;
      let channel: Channel | undefined;
      let client: InteropClient;
      before(async function () {
        py = await startPythonServer(pb2, MAX_MESSAGE, cert);
        channel = createChannel(`https://127.0.0.1:${py.port}`, { ca: cert!.cert, servername: TLS_NAME, maxReceiveMessageBytes: MAX_MESSAGE });
        client = sgwireClient(channel);
      });
      after(async function () {
        channel?.close();
        await py?.stop();
      });
      for (const s of tlsScenarios) {
        it(s.title, async function () {
          const results = await runAll((c) => runSgwireCall(client, c), s.calls);
          await checked(s, results, py!.log, py!.stderr);
        });
      }
    });

    describe("C-core client -> sgwire TLS server", function () {
      const log = new EventLog();
      let server: GrpcServer | undefined;
      let port = 0;
      before(async function () {
        server = new GrpcServer({ maxReceiveMessageBytes: MAX_MESSAGE });
        server.addService(Interop, sgwireImplementation(log));
        ({ port } = await server.listen({ host: "127.0.0.1", port: 0, tls: { key: cert!.key, cert: cert!.cert } }));
      });
      after(async function () {
        await server?.close(1000);
      });
      for (const s of tlsScenarios) {
        it(s.title, async function () {
          const results = await runPythonClient(`127.0.0.1:${port}`, s, pb2, { caFile: cert!.certFile, name: TLS_NAME });
          await checked(s, results, log);
        });
      }
    });
  });

  describe("grpc-js client with sgwire codecs (toGrpcJsService, the drop-in switch) -> C-core server", function () {
    let py: PythonServer | undefined;
    let client: grpc.Client | undefined;
    before(async function () {
      py = await startPythonServer(pb2);
      client = grpcjsClient(`127.0.0.1:${py.port}`);
    });
    after(async function () {
      client?.close();
      await py?.stop();
    });

    for (const s of scenarios) {
      it(s.title, async function () {
        const results = await runAll((c) => runGrpcjsCall(client!, c, "sgwire"), s.calls);
        await checked(s, results, py!.log, py!.stderr);
      });
    }
  });

  describe("default receive limits (4 MiB): a 4 MiB payload (a message a few bytes over 4 MiB) is refused both ways", function () {
    const MAX_4M = 4 * MiB;
    const bigResponse: Scenario = {
      name: "limit-response", title: "", check: () => {},
      calls: [{ label: "big-response", method: "unary", requests: [{ id: "lim-res", responseSizes: [4 * MiB] }] }],
    };
    const bigRequest: Scenario = {
      name: "limit-request", title: "", check: () => {},
      calls: [
        { label: "big-request", method: "unary", requests: [{ id: "lim-req", payload: { size: 4 * MiB, seed: 1 } }] },
        { label: "after", method: "unary", requests: [{ id: "lim-after", payload: { size: KiB, seed: 2 } }] },
      ],
    };
    const log = new EventLog();
    let py: PythonServer | undefined;
    let sgServer: GrpcServer | undefined;
    let sgPort = 0;
    before(async function () {
      py = await startPythonServer(pb2, MAX_4M);
      sgServer = new GrpcServer();
      sgServer.addService(Interop, sgwireImplementation(log));
      ({ port: sgPort } = await sgServer.listen({ host: "127.0.0.1", port: 0 }));
    });
    after(async function () {
      await py?.stop();
      await sgServer?.close(1000);
    });

    it("sgwire client (default limit) <- C-core server: RESOURCE_EXHAUSTED; C-core server (4 MiB) refuses the 4 MiB request", async function () {
      const channel = createChannel(`http://127.0.0.1:${py!.port}`);
      try {
        const client = sgwireClient(channel);
        const r = await runSgwireCall(client, bigResponse.calls[0]!);
        assert.equal(r.code, Code.RESOURCE_EXHAUSTED, `${r.code}: ${r.details}`);
        const q = await runSgwireCall(client, bigRequest.calls[0]!);
        assert.equal(q.code, Code.RESOURCE_EXHAUSTED, `${q.code}: ${q.details}`);
        const ok = await runSgwireCall(client, bigRequest.calls[1]!);
        assert.equal(ok.code, Code.OK, ok.details);
      } finally {
        channel.close();
      }
    });

    it("C-core client (4 MiB limit) <- sgwire server: RESOURCE_EXHAUSTED; the sgwire server (default) refuses the 4 MiB request and serves the next", async function () {
      const [r] = await runPythonClient(`127.0.0.1:${sgPort}`, bigResponse, pb2, undefined, MAX_4M);
      assert.equal(r!.code, Code.RESOURCE_EXHAUSTED, `${r!.code}: ${r!.details}`);
      const [q, ok] = await runPythonClient(`127.0.0.1:${sgPort}`, bigRequest, pb2, undefined, MAX_4M);
      assert.equal(q!.code, Code.RESOURCE_EXHAUSTED, `${q!.code}: ${q!.details}`);
      assert.equal(ok!.code, Code.OK, ok!.details);
    });
  });

  describe("control: grpc-js client -> C-core server (the table itself)", function () {
    let py: PythonServer | undefined;
    let client: grpc.Client | undefined;
    before(async function () {
      py = await startPythonServer(pb2);
      client = grpcjsClient(`127.0.0.1:${py.port}`);
    });
    after(async function () {
      client?.close();
      await py?.stop();
    });

    for (const s of scenarios) {
      it(s.name, async function () {
        const results = await runAll((c) => runGrpcjsCall(client!, c), s.calls);
        await checked(s, results, py!.log, py!.stderr);
      });
    }
  });

  describe("control: C-core client -> grpc-js server (the table itself)", function () {
    const log = new EventLog();
    let server: grpc.Server | undefined;
    let port = 0;
    before(async function () {
      ({ server, port } = await startGrpcjsServer(log));
    });
    after(async function () {
      await stopGrpcjsServer(server);
    });

    for (const s of scenarios) {
      it(s.name, async function () {
        const results = await runPythonClient(`127.0.0.1:${port}`, s, pb2);
        await checked(s, results, log);
      });
    }
  });
});
