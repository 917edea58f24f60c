/**
 * The gRPC benchmark at a tiny size: every server row answers every call correctly and the JSON
 * has the shape the table and scripts/figures.ts read. No timing is asserted.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GrpcBenchFile } from "../src/grpc/report.js";

const benchDir = fileURLToPath(new URL("../", import.meta.url));
const tsx = join(benchDir, "node_modules/.bin/tsx");
const SERVERS = ["sgwire", "grpc-js+protobufjs", "grpc-js+protobuf-es", "grpc-js+sgwire"];

function runBench(args: string[]) {
  return spawnSync(tsx, ["src/grpc/main.ts", ...args], { cwd: benchDir, encoding: "utf8", timeout: 240_000 });
}

describe("grpc bench", function () {
  this.timeout(300_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "sgw-grpc-bench-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // the sgwire client is the bench's default; the grpc-js one decodes with protobufjs, so the
  // sgwire server's answers are checked by a decoder that is not sgwire's too
  for (const clientKind of ["sgwire", "grpc-js"]) it(`runs every server on both methods and writes the results (${clientKind} client)`, () => {
    const json = join(dir, `grpc-bench-${clientKind}.json`);
    const r = runBench(["--calls", "200", "--warmup-calls", "60", "--rounds", "1", "--concurrency", "8", "--client", clientKind, "--no-pin", "--json", json]);
    assert.equal(r.status, 0, `bench failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
    const f = JSON.parse(readFileSync(json, "utf8")) as GrpcBenchFile;
    for (const k of ["command", "revision", "date"] as const) assert.equal(typeof f[k], "string", k);
    assert.ok(f.command.startsWith("tsx src/grpc/main.ts --calls 200"), f.command);
    assert.equal(f.settings.window.mode, "calls");
    assert.equal(f.settings.pin, null);
    assert.equal(f.settings.client, clientKind);
    assert.equal(f.baseline, "grpc-js+protobufjs");
    assert.deepEqual(f.methods.map((m) => m.method), ["getBlob", "small"]);
    assert.equal(f.methods[0]!.label, "GetBlob 64 KiB");
    assert.ok(f.methods[0]!.responseBytes > 65536 && f.methods[0]!.responseBytes < 65536 + 32, String(f.methods[0]!.responseBytes));
    assert.ok(f.methods[1]!.responseBytes > 30 && f.methods[1]!.responseBytes < 80, String(f.methods[1]!.responseBytes));
    for (const m of f.methods) {
      assert.deepEqual(m.rows.map((r) => r.server), SERVERS);
      for (const row of m.rows) {
        const where = `${m.method} ${row.server}`;
        assert.equal(row.errors, 0, `${where}: ${row.problems.join("; ")}`);
        assert.equal(row.mismatches, 0, `${where}: ${row.problems.join("; ")}`);
        assert.equal(row.ok, true, where);
        // the first unmeasured pass, warm-up + window, and what completed while the server's
        // figures were read (the load goes on during those round trips) or was in flight at the end
        assert.ok(row.answered >= 320 && row.answered <= 600, `${where}: answered ${row.answered}`);
        assert.equal(row.runs.length, 1, where);
        const run = row.runs[0]!;
        assert.ok(run.clientCalls >= 200 && run.clientCalls <= 260, `${where}: ${run.clientCalls} calls in the window`);
        // the handler counts are read with the CPU time, a side-channel round trip off the client's window
        assert.ok(Math.abs(run.serverCalls - run.clientCalls) <= 100, `${where}: server counted ${run.serverCalls}, client ${run.clientCalls}`);
        assert.ok(run.serverCpuUs.user + run.serverCpuUs.system > 0, `${where}: no server CPU time`);
        for (const v of [run.requestsPerSecond, run.cpuUsPerRequest, run.requestsPerCpuSecond, run.p50Us, run.p99Us, row.median.requestsPerCpuSecond]) {
          assert.ok(Number.isFinite(v) && v > 0, `${where}: ${JSON.stringify(run)}`);
        }
        assert.ok(row.vsBaseline !== undefined, where);
      }
      const base = m.rows.find((r) => r.server === f.baseline)!;
      assert.equal(base.vsBaseline!.requestsPerCpuSecond, 1);
    }
    assert.deepEqual(f.goals.map((g) => g.target), [2, 1]);
    for (const g of f.goals) assert.ok(typeof g.measured === "number" && g.measured > 0, JSON.stringify(g));
    // the table names every row
    for (const s of SERVERS) assert.ok(r.stdout.includes(s), `table without ${s}:\n${r.stdout}`);
  });

  it("counts wrong answers: a server storing other values fails its row", async () => {
    const { startServer } = await import("../src/grpc/servers.js");
    const { openClient, Load } = await import("../src/grpc/load.js");
    const server = await startServer("grpc-js+protobufjs", { blobBytes: 1000, keys: 4 });
    const client = await openClient("grpc-js", { port: server.port, blobBytes: 1024, keys: 4 });
    try {
      const load = new Load(client, "getBlob", 4);
      load.start();
      await load.completedAtLeast(20);
      await load.stop();
      assert.ok(load.counts.completed >= 20);
      assert.equal(load.counts.mismatches, load.counts.completed);
      assert.equal(load.counts.errors, 0);
      assert.match(load.counts.problems[0]!, /GetBlob blob-000\d: 1000 value bytes, expected 1024/);
      // the small method of the same server is right
      const small = new Load(client, "small", 4);
      small.start();
      await small.completedAtLeast(20);
      await small.stop();
      assert.equal(small.counts.mismatches + small.counts.errors, 0, small.counts.problems.join("; "));
    } finally {
      client.close();
      await server.close();
    }
  });

  it("refuses a bad option with a message naming it", () => {
    const r = runBench(["--servers", "grpc-js+nothing"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--servers: unknown "grpc-js\+nothing"/);
  });
});
