/**
 * One end of an end-to-end test, run in a network namespace by test/dpdk-veth.test.ts:
 *   node --import tsx test/e2e/peer.ts ROLE JSON
 * Prints "ready" once it can receive, then one JSON line with its results, then exits.
 *
 * Roles:
 *   dpdk-send  {vdev, address, peers, to, count, size}  send `count` Blobs with a registered chunk
 *   dpdk-recv  {vdev, address, count, echo}             receive `count`, check CRCs, optionally echo each back
 *   udp-recv   {bind, count}                           plain kernel socket + protobufjs (no sgwire)
 *   udp-send   {to, count, size, expectEchoes}         plain kernel socket + protobufjs (no sgwire)
 */
import * as dgram from "node:dgram";
import { openPort, type Endpoint, type ReceivedMessage } from "../../src/index.js";
import type { DpdkPort } from "../../src/dpdk/dpdk-port.js";
import { Blob, PbBlob, crc32, fill } from "../fixtures/blob.js";

const [role, json] = process.argv.slice(2);
const o = JSON.parse(json ?? "{}");
/** Most messages a sender that expects echoes lets go unanswered. */
const WINDOW = 32;
const out = (v: unknown): void => void process.stdout.write(JSON.stringify(v) + "\n");
/** What a role has seen so far, reported if it times out. */
const progress: Record<string, unknown> = {};
const deadline = setTimeout(() => {
  out({ error: `${role}: timed out; so far ${JSON.stringify(progress)}` });
  process.exit(3);
}, o.timeoutMs ?? 20000);

async function dpdkSend(): Promise<void> {
  const p = (await openPort({ backend: "dpdk", vdev: o.vdev, bind: { address: o.address, port: o.port ?? 9000 }, peers: o.peers, eal: o.eal })) as DpdkPort;
  const to: Endpoint = o.to;
  const bufs = Array.from({ length: 64 }, () => p.allocate(o.size));
  const echoes: number[] = [];
  let corruptEchoes = 0;
  if (o.expectEchoes) {
    p.onMessage((m) => {
      const b = m.decode(Blob);
      if (crc32(b.chunks) !== b.crc) corruptEchoes++;
      echoes.push(b.id);
      m.release();
    });
  }
  out("ready");
  for (let i = 0; i < o.count; i++) {
    // a buffer is rewritten only when no send holds it any more
    let rb = bufs[i % bufs.length]!;
    while (rb.refCount > 1) {
      await p.completions();
    }
    fill(rb.bytes, i + 1);
    p.send({ codec: Blob, message: Blob.create({ id: i + 1, chunks: [rb.bytes], crc: crc32([rb.bytes]) }) }, to);
    // pace: a receiving kernel socket drops what overflows its buffer (RcvbufErrors); with
    // echoes, keep at most WINDOW unanswered so neither side's buffers can overflow
    if (i % 8 === 7) await new Promise((r) => setTimeout(r, 1));
    const until = Date.now() + 2000;
    while (o.expectEchoes && i + 1 - echoes.length > WINDOW && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }
  await p.completions();
  if (o.expectEchoes) {
    const until = Date.now() + 5000;
    while (echoes.length < o.count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }
  const s = p.stats;
  for (const rb of bufs) rb.release();
  out({ eal: p.ealArgs.join(" "), sent: s.messagesSent, referenced: s.bytesReferenced, copied: s.bytesCopied, pending: s.completionsPending, echoes: echoes.length, corruptEchoes, inUse: p.registeredInUse, driver: p.caps.driver });
  await p.close();
}

async function dpdkRecv(): Promise<void> {
  const p = (await openPort({ backend: "dpdk", vdev: o.vdev, bind: { address: o.address, port: o.port ?? 9000 }, peers: o.peers })) as DpdkPort;
  const ids = new Set<number>();
  let corrupt = 0;
  const sources = new Set<string>();
  const done = new Promise<void>((resolve) => {
    p.onMessage((m: ReceivedMessage) => {
      const b = m.decode(Blob);
      if (crc32(b.chunks) !== b.crc) corrupt++;
      ids.add(b.id);
      progress.received = ids.size;
      sources.add(`${m.source.address}:${m.source.port}`);
      if (o.echo) {
        // echo from registered memory, so the reply goes out by reference too
        const rb = p.allocate(Math.max(1, b.chunks[0]?.length ?? 1));
        if (b.chunks[0]) rb.bytes.set(b.chunks[0]);
        p.send({ codec: Blob, message: Blob.create({ id: b.id, chunks: b.chunks[0] ? [rb.bytes] : [], crc: b.crc }) }, m.source);
        rb.release();
      }
      m.release();
      if (ids.size === o.count) resolve();
    });
  });
  out("ready");
  await done;
  await p.completions();
  const x = p.xstats();
  const st = p.stats;
  out({ received: ids.size, corrupt, sources: [...sources], arpReplies: x.arpReplies, held: st.rxHeld, pending: st.completionsPending, sent: st.messagesSent, driver: p.caps.driver });
  await p.close();
}

async function udpRecv(): Promise<void> {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  await new Promise<void>((r) => s.bind(o.bind.port, o.bind.address, () => r()));
  const ids = new Set<number>();
  let corrupt = 0;
  let bytes = 0;
  out("ready");
  await new Promise<void>((resolve) => {
    s.on("message", (buf) => {
      const m = PbBlob.decode(buf) as unknown as { id: number; chunks: Uint8Array[]; crc: number };
      if (crc32(m.chunks) !== m.crc) corrupt++;
      ids.add(m.id);
      bytes += buf.length;
      progress.received = ids.size;
      if (ids.size === o.count) resolve();
    });
  });
  out({ received: ids.size, corrupt, bytes });
  s.close();
}

async function udpSend(): Promise<void> {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: 4 << 20 });
  await new Promise<void>((r) => s.bind(0, () => r()));
  const echoes = new Set<number>();
  let corrupt = 0;
  s.on("message", (buf) => {
    const m = PbBlob.decode(buf) as unknown as { id: number; chunks: Uint8Array[]; crc: number };
    if (crc32(m.chunks) !== m.crc) corrupt++;
    echoes.add(m.id);
    progress.echoes = echoes.size;
  });
  out("ready");
  for (let i = 0; i < o.count; i++) {
    const payload = fill(new Uint8Array(o.size), 1000 + i);
    const bytes = PbBlob.encode({ id: i + 1, chunks: [payload], crc: crc32([payload]) }).finish();
    await new Promise<void>((r, j) => s.send(bytes, o.to.port, o.to.address, (e) => (e ? j(e) : r())));
    progress.sent = i + 1;
    if (i % 8 === 7) await new Promise((r) => setTimeout(r, 1));
    const until = Date.now() + 2000;
    while (o.expectEchoes && i + 1 - echoes.size > WINDOW && Date.now() < until) await new Promise((r) => setTimeout(r, 1));
  }
  const until = Date.now() + 5000;
  while (o.expectEchoes && echoes.size < o.count && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  out({ sent: o.count, echoes: echoes.size, corrupt });
  s.close();
}

const roles: Record<string, () => Promise<void>> = { "dpdk-send": dpdkSend, "dpdk-recv": dpdkRecv, "udp-recv": udpRecv, "udp-send": udpSend };
const run = roles[role ?? ""];
if (run === undefined) {
  out({ error: `unknown role ${role}` });
  process.exit(2);
}
run().then(
  () => {
    clearTimeout(deadline);
    process.exit(0);
  },
  (e: Error) => {
    out({ error: e.stack ?? String(e) });
    process.exit(1);
  },
);
