/**
 * The gRPC kv example as programs: grpc/server.ts serving, grpc/client.ts calling it with sgwire's
 * client and with @grpc/grpc-js + @grpc/proto-loader (--grpc-js), over h2c and TLS. Both clients
 * must print the same lines, and those lines must be what the store holds. Also the store's rules.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const pkg = join(fileURLToPath(import.meta.url), "..", "..");

/** gen/ is not committed: compile kv_service.proto if the package's build did not. */
function ensureGenerated(): void {
  const out = join(pkg, "gen/kv_service.sg.ts");
  const proto = join(pkg, "schemas/kv_service.proto");
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(proto).mtimeMs) return;
  execFileSync(process.execPath, [join(pkg, "node_modules/@sgwire/codegen/bin/sgwire.js"), "compile", "--out", "gen", "-I", "schemas", "schemas/kv_service.proto"], { cwd: pkg, stdio: "ignore" });
}

interface Server {
  child: ChildProcess;
  address: string;
  ca?: string;
}

/** Starts grpc/server.ts on an ephemeral port; resolves with the address it prints. */
async function startServer(args: string[]): Promise<Server> {
  const child = spawn(process.execPath, ["--import", "tsx", "grpc/server.ts", "--port", "0", ...args], { cwd: pkg, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const r = await Promise.race([
      lines.next(),
      new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`server exited (${code}): ${stderr}`)))),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`server printed nothing in 30 s: ${stderr}`)), 30_000).unref()),
    ]);
    if (r.done) throw new Error(`server closed its output: ${stderr}`);
    return r.value;
  };
  const first = await next();
  const m = /^kv gRPC server listening on (https?:\/\/127\.0\.0\.1:\d+)$/.exec(first);
  assert.ok(m, `unexpected first line: ${first}`);
  const s: Server = { child, address: m[1]! };
  if (args.includes("--tls")) {
    const ca = /^ca: (.+)$/.exec(await next());
    assert.ok(ca, "no ca: line with --tls");
    s.ca = ca[1]!;
  }
  return s;
}

/** Ctrl-C: the server closes and exits 0. */
async function stopServer(s: Server | undefined): Promise<void> {
  if (s === undefined || s.child.exitCode !== null) return;
  const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
  s.child.kill("SIGINT");
  const t = setTimeout(() => s.child.kill("SIGKILL"), 10_000);
  const code = await exited;
  clearTimeout(t);
  assert.equal(code, 0, "the server did not exit cleanly on SIGINT");
}

function client(args: string[]): string[] {
  const r = spawnSync(process.execPath, ["--import", "tsx", "grpc/client.ts", ...args], { cwd: pkg, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, `client ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trimEnd().split("\n");
}

/** What the scenario must print against a store that does not hold its keys yet. */
function checkScenario(lines: string[]): void {
  const big = /65536 B sha256:[0-9a-f]{16}/.source;
  const want: RegExp[] = [
    /^watch "user:" -> WATCHING "user:"$/,
    /^put user:1 "alice" -> version 1$/,
    new RegExp(`^put user:2 ${big} -> version 1$`),
    /^put other:1 "not watched" -> version 1$/,
    /^put user:1 "alice v2" -> version 2$/,
    /^put "" -> INVALID_ARGUMENT: the key is empty$/,
    /^get user:1 -> "alice v2" version 2$/,
    new RegExp(`^get user:2 -> ${big} version 1$`),
    /^get nope -> NOT_FOUND: no value stored under "nope"$/,
    new RegExp(`^getMany -> user:1 "alice v2" v2 \\| nope \\(none\\) \\| user:2 ${big} v1$`),
    /^putMany batch:0 batch:1 batch:2 -> 3 entries, 3003 B$/,
    /^delete user:1 -> existed$/,
    /^delete user:1 -> did not exist$/,
    new RegExp(`^watch "user:" saw: PUT user:1 v1 "alice", PUT user:2 v1 ${big}, PUT user:1 v2 "alice v2", DELETE user:1$`),
    /^cleanup: deleted 5 keys$/,
  ];
  assert.equal(lines.length, want.length, `expected ${want.length} lines:\n${lines.join("\n")}`);
  for (const [i, re] of want.entries()) assert.match(lines[i]!, re, `line ${i + 1}`);
}

describe("grpc kv example", function () {
  this.timeout(120_000);
  before(ensureGenerated);

  for (const tls of [false, true]) {
    describe(tls ? "over TLS (h2)" : "over cleartext (h2c)", () => {
      let server: Server | undefined;
      before(async () => {
        server = await startServer(tls ? ["--tls"] : []);
      });
      after(() => stopServer(server));

      it("the sgwire client and a grpc-js client print the same, and what the store holds", () => {
        const ca = server!.ca !== undefined ? ["--ca", server!.ca] : [];
        const sg = client(["--address", server!.address, ...ca]);
        const gj = client(["--address", server!.address, "--grpc-js", ...ca]);
        assert.match(sg[0]!, /^client: sgwire \(@sgwire\/grpc createClient\), server https?:/);
        assert.match(gj[0]!, /^client: @grpc\/grpc-js with @grpc\/proto-loader, server https?:/);
        checkScenario(sg.slice(1));
        // the same lines, values and digests included: the grpc-js client ran against the same
        // server after the sgwire one, which left the store as it found it
        assert.deepEqual(gj.slice(1), sg.slice(1));
      });
    });
  }

  it("refuses bad options with a message naming them", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "grpc/client.ts", "--address", "127.0.0.1:1"], { cwd: pkg, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--address must look like http:\/\/host:port/);
    const s = spawnSync(process.execPath, ["--import", "tsx", "grpc/server.ts", "--port", "70000"], { cwd: pkg, encoding: "utf8", timeout: 30_000 });
    assert.notEqual(s.status, 0);
    assert.match(s.stderr, /--port must be an integer from 0 to 65535, got 70000/);
  });

  describe("a watcher that stops reading", () => {
    it("has its Watch call ended while the server keeps serving", async () => {
      const { GrpcServer, GrpcError, Status, createChannel, createClient } = await import("@sgwire/grpc");
      const { Kv } = await import("../gen/kv_service.sg.js");
      const { KvStore } = await import("../grpc/store.js");
      const { kvService } = await import("../grpc/server.js");
      const store = new KvStore();
      const server = new GrpcServer().addService(Kv, kvService(store, { maxWatchBacklog: 8 }));
      const { port } = await server.listen({ port: 0 });
      const channel = createChannel(`http://127.0.0.1:${port}`);
      try {
        const kv = createClient(Kv, channel);
        let end!: () => void;
        const ended = new Promise<void>((r) => (end = r));
        const changes = kv
          .watch(
            (async function* () {
              yield { prefix: "w:" };
              await ended;
            })(),
          )
          [Symbol.asyncIterator]();
        assert.equal((await changes.next()).value?.key, "w:");
        assert.equal(store.size.watchers, 1);
        // 50 MiB of changes the watcher does not read: HTTP/2 flow control stops the server's
        // writes, its queue passes 8 changes, and the call is ended
        const value = new Uint8Array(256 * 1024);
        for (let i = 0; i < 200; i++) await kv.put({ key: `w:${i % 4}`, value });
        assert.equal(store.size.watchers, 0, "the watcher was not dropped");
        let received = 0;
        let failure: unknown;
        try {
          for (;;) {
            const r = await changes.next();
            if (r.done) break;
            received++;
          }
        } catch (e) {
          failure = e;
        }
        end();
        assert.ok(failure instanceof GrpcError, `the Watch call did not fail (received ${received} changes)`);
        assert.ok(received < 200, `received ${received} changes`);
        // the handler ends the call with RESOURCE_EXHAUSTED, and the status reaches the client even
        // though response DATA is still waiting for flow control
        assert.equal(failure.code, Status.RESOURCE_EXHAUSTED, `status ${Status[failure.code]}: ${failure.details}`);
        // the server keeps serving
        assert.equal((await kv.get({ key: "w:1" })).value.length, value.length);
      } finally {
        channel.close();
        await server.close(1000);
      }
    });
  });

  describe("the store", () => {
    it("stores copies, counts versions per key, refuses empty keys and keeps to its limits", async () => {
      const { KvStore, StoreError } = await import("../grpc/store.js");
      const store = new KvStore({ maxKeys: 2, maxBytes: 10 });
      const changes: string[] = [];
      const stop = store.subscribe((c) => changes.push(`${c.kind} ${c.key}`));
      const input = new Uint8Array([1, 2, 3]);
      assert.equal(store.put("a", input), 1n);
      input[0] = 9; // the caller's bytes change: the stored copy does not
      const first = store.get("a")!;
      assert.deepEqual([...first.value], [1, 2, 3]);
      assert.equal(store.put("a", new Uint8Array([4, 5])), 2n);
      // a value handed out before (what a response in flight references) is never rewritten
      assert.deepEqual([...first.value], [1, 2, 3]);
      assert.deepEqual([...store.get("a")!.value], [4, 5]);
      assert.throws(() => store.put("", new Uint8Array(1)), (e: unknown) => e instanceof StoreError && e.reason === "empty-key");
      assert.equal(store.put("b", new Uint8Array(8)), 1n);
      assert.throws(() => store.put("c", new Uint8Array(0)), /holds 2 keys, its limit/);
      assert.throws(() => store.put("b", new Uint8Array(9)), /limit of 10 bytes/);
      assert.equal(store.delete("a"), true);
      assert.equal(store.delete("a"), false);
      assert.equal(store.put("a", new Uint8Array(1)), 1n, "a deleted key starts again at version 1");
      stop();
      store.put("b", new Uint8Array(1));
      assert.deepEqual(changes, ["put a", "put a", "put b", "delete a", "put a"]);
      assert.deepEqual(store.size, { keys: 2, bytes: 2, watchers: 0 });
    });
  });
});
