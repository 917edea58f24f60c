/**
 * The shared way a port reports that it cannot go on (PortBase.portFailed, used by the DPDK and
 * ibverbs loops where a throw would escape from a microtask): the port closes at once, drops
 * what it held, and 'error' says why.
 */
import assert from "node:assert/strict";
import { RefBuffer, SgList, type CopyPolicy } from "@sgwire/core";
import { PortBase } from "../src/port-base.js";
import type { Endpoint, PortCaps } from "../src/port.js";

/** A transport that takes sends and never completes them, until it is made to fail. */
class StuckPort extends PortBase {
  readonly caps: PortCaps = { backend: "udp", driver: "test", maxSegments: 16, maxMessageBytes: 1 << 16, copyThreshold: 512, referencesAnyMemory: true };
  readonly policy: Required<CopyPolicy> = { copyThreshold: 512, maxSegments: 16, isEligible: () => true };
  readonly localAddress: Endpoint = { address: "127.0.0.1", port: 1 };
  shutdowns: boolean[] = [];
  protected transmit(): boolean {
    this.st.completionsPending++;
    return true;
  }
  allocate(size: number): RefBuffer {
    return new RefBuffer(new Uint8Array(size));
  }
  protected async shutdown(force: boolean): Promise<void> {
    this.shutdowns.push(force);
    const n = this.st.completionsPending;
    this.st.drops += n;
    if (n > 0) this.sendCompleted(n);
  }
  fail(e: Error): void {
    this.portFailed(e);
  }
}

describe("a port that cannot go on", function () {
  it("closes at once, counts what it held as dropped, and emits 'error' naming why", async function () {
    const p = new StuckPort();
    p.send(new SgList(Uint8Array.of(8, 1)), { address: "127.0.0.1", port: 2 });
    const errors: Error[] = [];
    p.on("error", (e: Error) => errors.push(e));
    const t0 = Date.now();
    p.fail(new Error("test port: the device refused a work request"));
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /refused a work request/);
    assert.equal(p.closed, true);
    assert.throws(() => p.send(new SgList(Uint8Array.of(8, 1)), { address: "127.0.0.1", port: 2 }), /send\(\) after close\(\)/);
    await p.completions();
    assert.ok(Date.now() - t0 < 2000, "close() did not wait its usual timeout");
    assert.deepEqual(p.shutdowns, [true]);
    assert.equal(p.stats.drops, 1);
    await p.close(); // closing again is harmless
  });

  it("with no 'error' listener, throws like any 'error' event (the port is still closed)", function () {
    const p = new StuckPort();
    assert.throws(() => p.fail(new Error("test port: gone")), /gone/);
    assert.equal(p.closed, true);
  });
});
