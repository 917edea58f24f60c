/**
 * Worker threads with the kernel backends: each worker opens its own port (its own socket), as
 * with DPDK and ibverbs. A worker that exits with its port open loses only its own socket.
 */
import assert from "node:assert/strict";
import { nicInfo, openPort } from "../src/index.js";
import { needIn } from "./suite/requirements.js";
import { Blob } from "./fixtures/blob.js";
import { newKernelWorker } from "./fixtures/kernel-worker.js";

interface Progress { rounds: number; echoed: number; wrong: number }

const uring = nicInfo().backends.find((b) => b.name === "udp")!.engines!.find((e) => e.name === "uring")!;
/** Pending (or failing under SGWIRE_REQUIRE) where this kernel's io_uring cannot carry the engine. */
const needEngine = (ctx: Mocha.Context, engine: string): void => {
  if (engine === "uring") needIn(ctx, "io_uring", uring.available ? undefined : (uring.reason ?? "io_uring"));
};

describe("kernel ports in worker threads", function () {
  this.timeout(60000);

  const engines = [["udp", "dgram"], ["udp", "native"], ["udp", "uring"], ["tcp", "net"], ["tcp", "native"]] as const;
  for (const [backend, engine] of engines) {
    it(`${backend} ${engine}: two workers send at once through their own sockets; one exits with its port open, the other goes on`, async function () {
      needEngine(this, engine);
      // this thread echoes every message back to its source
      const echo = await openPort({ backend, engine } as never);
      let echoed = 0;
      echo.onMessage((m) => {
        const b = m.decode(Blob);
        echo.send(Blob.encode(Blob.create({ id: b.id, key: Uint8Array.from(b.key) })), m.source);
        echoed++;
        m.release();
      });
      const workers = [1, 2].map((tag) => {
        const w = newKernelWorker({ to: echo.localAddress, tag, backend, engine });
        const state = { last: { rounds: 0, echoed: 0, wrong: 0 } as Progress, error: null as Error | null, exited: new Promise<number>((r) => w.on("exit", r)) };
        w.on("message", (m: Progress) => (state.last = m));
        w.on("error", (e) => (state.error = e));
        return { w, state };
      });
      const until = async (cond: () => boolean, what: string): Promise<void> => {
        const end = Date.now() + 30000;
        while (!cond()) {
          for (const { state } of workers) if (state.error !== null) throw state.error;
          if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      try {
        await until(() => workers.every(({ state }) => state.last.rounds >= 3), "both workers did 3 rounds");
        const [one, two] = workers;
        one!.w.postMessage("exit");
        assert.equal(await one!.state.exited, 0);
        const after = two!.state.last.rounds;
        await until(() => two!.state.last.rounds >= after + 3, "the other worker did 3 more rounds");
        for (const { state } of workers) {
          assert.equal(state.last.wrong, 0);
          assert.equal(state.last.echoed, state.last.rounds * 50, "every message came back");
        }
        assert.ok(echoed >= 9 * 50);
        assert.equal(echo.stats.faults["socket-error"], 0);
      } finally {
        for (const { w } of workers) await w.terminate();
        await echo.close();
      }
    });
  }

  it("a worker terminated in the middle of its traffic never takes the process down (5 times per engine)", async function () {
    for (const [backend, engine] of engines) {
      if (engine === "uring" && !uring.available) continue; // the test above says so, pending or failing
      const echo = await openPort({ backend, engine } as never);
      echo.onMessage((m) => {
        echo.send(Blob.encode(Blob.create({ id: m.decode(Blob).id, key: new Uint8Array(64) })), m.source);
        m.release();
      });
      for (let i = 0; i < 5; i++) {
        const w = newKernelWorker({ to: echo.localAddress, tag: 1, backend, engine });
        let progressed = false;
        w.on("message", () => (progressed = true));
        w.on("error", () => {});
        // mid-traffic: once it has done a round, at a different moment each time
        while (!progressed) await new Promise((r) => setTimeout(r, 2));
        await new Promise((r) => setTimeout(r, i % 7));
        await w.terminate();
      }
      await echo.close();
    }
  });
});
