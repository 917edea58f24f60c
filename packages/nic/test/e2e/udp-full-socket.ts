/**
 * Run inside a network namespace of its own (test/native-udp-backpressure.test.ts): its loopback
 * gets a slow token-bucket qdisc, so datagrams wait in the qdisc charged to the sending socket,
 * whose send buffer fills: sendmmsg reports EAGAIN. A native UDP port sends `count` messages of
 * 1 KB to a native port in the same process, every one must arrive in order, none dropped.
 * Prints one JSON line with what happened.
 */
import { spawnSync } from "node:child_process";
import { openPort } from "../../src/index.js";
import { Blob } from "../fixtures/blob.js";

const count = Number(process.argv[2] ?? 3000);
// the engine: "native" (sendmmsg) or "uring" (io_uring: the socket's room comes as a POLL_ADD completion)
const engine = process.argv[3] === "uring" ? "uring" : "native";
const sh = (...a: string[]): void => {
  const r = spawnSync(a[0]!, a.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${a.join(" ")}: ${r.stderr}`);
};
sh("ip", "link", "set", "lo", "up");
// 40 Mbit/s with room for 4 s of queue: datagrams wait (holding the socket's send buffer), never dropped
sh("tc", "qdisc", "replace", "dev", "lo", "root", "tbf", "rate", "40mbit", "burst", "64kb", "latency", "4s");

const a = await openPort({ backend: "udp", engine, highWaterMark: 64 });
const b = await openPort({ backend: "udp", engine, rxSlots: 256 });
const ids: number[] = [];
b.onMessage((m) => {
  ids.push(m.decode(Blob).id);
  m.release();
});
let refused = 0;
let drains = 0;
a.on("drain", () => drains++);
const t0 = Date.now();
for (let i = 1; i <= count; i++) {
  // sizes vary, so no two neighbours make a GSO send (a GSO datagram is cut up by the qdisc and
  // its pieces no longer count against the socket's send buffer)
  if (!a.send(Blob.encode(Blob.create({ id: i, key: new Uint8Array(1000 + (i % 2)).fill(i & 0xff) })), b.localAddress)) {
    refused++;
    await a.drained();
  }
}
await a.completions();
const end = Date.now() + 20000;
while (ids.length < count && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
const inOrder = ids.every((id, k) => id === k + 1);
const st = a.stats;
process.stdout.write(
  JSON.stringify({ received: ids.length, inOrder, refused, drains, txRingFull: st.txRingFull, sent: st.messagesSent, drops: st.drops + b.stats.drops, queued: st.queued, ms: Date.now() - t0 }) + "\n",
);
await a.close();
await b.close();
