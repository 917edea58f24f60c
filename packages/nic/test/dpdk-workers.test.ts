/**
 * Worker threads as the way to use several cores with DPDK: each worker opens its own port (its
 * own device and queues) under the one process-wide EAL. Native state is per environment: a
 * thread that exits stops only its own ports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import type { Worker } from "node:worker_threads";
import { nicInfo } from "../src/index.js";
import type { DpdkPort } from "../src/dpdk/dpdk-port.js";
import { newWorker, ringPort, round, ROUND } from "./fixtures/dpdk-worker.js";
import { describeWith } from "./suite/requirements.js";

const dpdk = nicInfo().backends.find((b) => b.name === "dpdk")!;
const pkg = join(dirname(fileURLToPath(import.meta.url)), "..");

interface Progress {
  ready?: boolean;
  rounds: number;
  received: number;
  corrupt: number;
  inUse: number;
}

/** A worker running test/fixtures/dpdk-worker.ts (TypeScript, loaded with tsx in the worker). */
function startWorker(data: Record<string, unknown>): { w: Worker; last: () => Progress; until: (f: (p: Progress) => boolean) => Promise<Progress>; exited: Promise<number> } {
  const w = newWorker(data);
  let last: Progress = { rounds: 0, received: 0, corrupt: 0, inUse: 0 };
  let failed: Error | null = null;
  const waiters: Array<{ f: (p: Progress) => boolean; resolve: (p: Progress) => void; reject: (e: Error) => void }> = [];
  const check = (): void => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      const x = waiters[i]!;
      if (failed !== null) x.reject(failed);
      else if (x.f(last)) x.resolve(last);
      else continue;
      waiters.splice(i, 1);
    }
  };
  w.on("message", (m: Progress) => {
    if (m.ready === undefined) last = m;
    check();
  });
  w.on("error", (e) => {
    failed = e;
    check();
  });
  const exited = new Promise<number>((r) => w.on("exit", r));
  return {
    w,
    last: () => last,
    until: (f) =>
      new Promise<Progress>((resolve, reject) => {
        waiters.push({ f, resolve, reject });
        check();
      }),
    exited,
  };
}

describeWith("dpdk", dpdk.available ? undefined : (dpdk.reason ?? "DPDK is not available"))("dpdk workers", function () {
  describe("dpdk in worker threads", function () {
    this.timeout(60000);

    it("a worker that only loaded the addons (nicInfo) and exited leaves this thread's port running", async function () {
      const p = await ringPort("net_ring20");
      try {
        assert.deepEqual(await round(p, 1), { received: ROUND, corrupt: 0 });
        const w = startWorker({ role: "info" });
        const msg = await new Promise((resolve) => w.w.once("message", resolve));
        assert.deepEqual(msg, { dpdk: true });
        assert.equal(await w.exited, 0);
        // the worker's environment cleanup ran; this thread's device must still be up
        assert.deepEqual(await round(p, 2), { received: ROUND, corrupt: 0 });
      } finally {
        await p.close();
      }
    });

    it("two workers send and receive at once on their own devices; one exits with its port open, the other keeps working", async function () {
      const main = await ringPort("net_ring21");
      const a = startWorker({ role: "loop", vdev: "net_ring22" });
      const b = startWorker({ role: "loop", vdev: "net_ring23" });
      try {
        // both running at the same time, each past two rounds
        await Promise.all([a.until((p) => p.rounds >= 2), b.until((p) => p.rounds >= 2)]);
        // a leaves without closing its port: its environment's cleanup stops net_ring22, nothing else
        a.w.postMessage("exit");
        assert.equal(await a.exited, 0);
        const atExit = a.last();
        assert.equal(atExit.corrupt, 0);
        assert.equal(atExit.received, atExit.rounds * ROUND, "a lost nothing while it ran");
        const bAt = b.last().rounds;
        const after = await b.until((p) => p.rounds >= bAt + 3);
        assert.equal(after.corrupt, 0);
        assert.equal(after.received, after.rounds * ROUND, "b lost nothing, before and after a exited");
        // this thread's port still works, and the exited thread's device was freed: it opens again here
        assert.deepEqual(await round(main, 3), { received: ROUND, corrupt: 0 });
        const reopened = await ringPort("net_ring22");
        assert.deepEqual(await round(reopened, 4), { received: ROUND, corrupt: 0 });
        await reopened.close();
        b.w.postMessage("close");
        assert.equal(await b.exited, 0);
        assert.equal(b.last().inUse, 0, "b gave back every registered buffer");
      } finally {
        await a.w.terminate();
        await b.w.terminate();
        await main.close();
      }
    });

    it("the EAL started by a worker that exited serves the main thread's ports (one EAL per process)", function () {
      // a fresh process, so that the worker really is the first to start DPDK
      const r = spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/dpdk-worker.ts", "eal-from-worker"], { cwd: pkg, encoding: "utf8", timeout: 60000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { worker: Progress & { eal?: string[] }; main: { received: number; corrupt: number }; reopened: { received: number; corrupt: number }; eal: string[] };
      assert.equal(out.worker.received, ROUND);
      assert.deepEqual(out.main, { received: ROUND, corrupt: 0 });
      assert.deepEqual(out.reopened, { received: ROUND, corrupt: 0 });
      assert.ok(out.eal.includes("--iova-mode=va"), "the main thread reports the arguments the worker started the EAL with");
    });
  });
});

export type { DpdkPort };
