/**
 * The registered-memory module both device backends share (DPDK: rte_extmem_register, ibverbs:
 * ibv_reg_mr): which views may be sent by reference. The registration hook here maps plain heap
 * memory; what is tested is the block bookkeeping, which is the same whatever registers it.
 */
import { strict as assert } from "node:assert";
import { RegisteredMemory, MAX_ALLOCATION } from "../src/registered-memory.js";

function heapMemory(attachable?: boolean): { mem: RegisteredMemory; arenas: number } {
  const state = { mem: null as unknown as RegisteredMemory, arenas: 0 };
  state.mem = new RegisteredMemory("test port", (bytes) => {
    const id = state.arenas++;
    return attachable === undefined ? [new ArrayBuffer(bytes), id] : [new ArrayBuffer(bytes), id, attachable];
  });
  return state;
}

describe("registered memory (shared by the dpdk and ibverbs ports)", () => {
  it("a block, and views inside it, are eligible while referenced; a view past its block or a freed block is not", () => {
    const { mem } = heapMemory();
    const rb = mem.allocate(1000); // a 1024-byte block
    assert.equal(mem.inUse, 1);
    assert.ok(mem.isEligible(rb.bytes));
    assert.ok(mem.isEligible(rb.bytes.subarray(10, 500)));
    const past = new Uint8Array(rb.bytes.buffer, rb.bytes.byteOffset + 1000, 100);
    assert.equal(mem.isEligible(past), false, "a view that runs into the next block");
    const lent = mem.lookup(rb.bytes.subarray(1, 2));
    assert.equal(lent?.owner, rb);
    const v = mem.view(rb.bytes);
    assert.equal(v?.owner, rb);
    assert.equal(v?.offset, rb.bytes.byteOffset);
    rb.release();
    assert.equal(mem.inUse, 0);
    assert.equal(mem.isEligible(rb.bytes), false, "freed");
    assert.equal(mem.lookup(rb.bytes), undefined);
    assert.equal(mem.isEligible(new Uint8Array(64)), false, "memory that was never registered");
  });

  it("reuses freed blocks before registering another arena, one arena list per size class", () => {
    const s = heapMemory();
    const a = s.mem.allocate(300); // 512-byte class
    const first = a.bytes.byteOffset;
    a.release();
    const b = s.mem.allocate(400);
    assert.equal(b.bytes.byteOffset, first, "the freed block is handed out again");
    s.mem.allocate(5000); // another class: another arena
    assert.equal(s.arenas, 2);
    assert.equal(s.mem.mappedBytes, 2 * MAX_ALLOCATION);
  });

  it("memory registered without an address the device can use is never eligible, only copied", () => {
    const { mem } = heapMemory(false);
    const rb = mem.allocate(4096);
    assert.equal(mem.isEligible(rb.bytes), false);
    assert.equal(mem.lookup(rb.bytes), undefined);
  });

  it("after markClosed nothing is eligible and allocate() says why", () => {
    const { mem } = heapMemory();
    const rb = mem.allocate(2048);
    mem.markClosed();
    assert.equal(mem.isEligible(rb.bytes), false);
    assert.throws(() => mem.allocate(16), /test port: allocate\(\) after close\(\)/);
  });

  it("refuses sizes it cannot serve, naming the limit", () => {
    const { mem } = heapMemory();
    assert.throws(() => mem.allocate(0), /test port: allocate size/);
    assert.throws(() => mem.allocate(MAX_ALLOCATION + 1), /test port: allocate size/);
    assert.throws(() => mem.allocate(1.5), /test port: allocate size/);
  });
});
