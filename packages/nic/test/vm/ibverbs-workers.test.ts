/**
 * Worker threads with ibverbs (rxe0, inside rdma-vm): native state is per environment, so a thread
 * that loads the addon and exits, or exits with its own ports open, leaves this thread's ports
 * working.
 */
import assert from "node:assert/strict";
import { newIbverbsWorker, round, udPair, ROUND } from "../fixtures/ibverbs-worker.js";
import { A } from "./ibverbs-rc.test.js";

describe("ibverbs in worker threads", function () {
  it("a worker that only loaded the addons (nicInfo) and exited leaves this thread's ports running", async function () {
    const { a, b } = await udPair(A);
    try {
      assert.deepEqual(await round(a, b, 1), { received: ROUND, corrupt: 0 });
      const w = newIbverbsWorker({ role: "info" });
      const msg = await new Promise((resolve, reject) => {
        w.once("message", resolve);
        w.once("error", reject);
      });
      assert.deepEqual(msg, { ibverbs: true });
      assert.equal(await new Promise((r) => w.on("exit", r)), 0);
      assert.deepEqual(await round(a, b, 2), { received: ROUND, corrupt: 0 }, "this thread's ports still send and receive");
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a worker with its own ports sends while this thread does, and exits with them open; this thread goes on", async function () {
    const { a, b } = await udPair(A);
    const w = newIbverbsWorker({ role: "loop", address: A });
    try {
      let last = { rounds: 0, received: 0, corrupt: 0 };
      let failed: Error | null = null;
      w.on("message", (m: { rounds?: number; received: number; corrupt: number }) => {
        if (m.rounds !== undefined) last = m as typeof last;
      });
      w.on("error", (e) => (failed = e));
      // both threads at once
      for (let i = 0; i < 3; i++) assert.deepEqual(await round(a, b, 10 + i), { received: ROUND, corrupt: 0 });
      const deadline = Date.now() + 60000;
      while (last.rounds < 2 && failed === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(failed, null);
      assert.ok(last.rounds >= 2, `the worker completed ${last.rounds} rounds`);
      assert.equal(last.corrupt, 0);
      assert.equal(last.received, last.rounds * ROUND);
      const exited = new Promise((r) => w.on("exit", r));
      w.postMessage("exit");
      assert.equal(await exited, 0);
      assert.deepEqual(await round(a, b, 20), { received: ROUND, corrupt: 0 }, "this thread's ports still work after the worker's were closed by its exit");
    } finally {
      await w.terminate();
      await a.close();
      await b.close();
    }
  });
});
