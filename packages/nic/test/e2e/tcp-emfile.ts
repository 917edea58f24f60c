/**
 * Run with a low descriptor limit (`ulimit -n`, test/native-tcp.test.ts): a native TCP port whose
 * process runs out of descriptors while a peer process keeps connecting. accept() fails with
 * EMFILE and the connections wait in the backlog; the port must not spin on its listening socket
 * (it rests it), must report the failures as socket-error faults, and must serve again once
 * descriptors are free. Prints one JSON line with what happened.
 */
import { fork } from "node:child_process";
import { openPort } from "../../src/index.js";
import { Blob } from "../fixtures/blob.js";

if (process.argv[2] === "flood") {
  // the peer: opens `n` connections and holds them until told to close them
  const net = await import("node:net");
  const port = Number(process.argv[3]);
  const socks = Array.from({ length: Number(process.argv[4]) }, () => net.connect(port, "127.0.0.1").on("error", () => {}));
  process.send!("open");
  process.on("message", () => {
    for (const s of socks) s.destroy();
    process.send!("closed");
  });
} else {
  const p = await openPort({ backend: "tcp", engine: "native" });
  const peer = fork(new URL(import.meta.url).pathname, ["flood", String(p.localAddress.port), "200"], { execArgv: ["--import", "tsx"] });
  await new Promise<void>((r) => peer.once("message", () => r()));
  // the port's process has run out of descriptors: measure what it costs meanwhile
  await new Promise((r) => setTimeout(r, 300));
  const c0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 1000));
  const c = process.cpuUsage(c0);
  const faults = p.stats.faults["socket-error"];
  // the peer lets go; its connections (accepted or waiting) are closed, and the port serves again
  peer.send("close");
  await new Promise<void>((r) => peer.once("message", () => r()));
  peer.kill();
  await new Promise((r) => setTimeout(r, 300));
  const b = await openPort({ backend: "tcp", engine: "native" });
  let got = 0;
  b.onMessage((m) => {
    got = m.decode(Blob).id;
    m.release();
  });
  p.send(Blob.encode(Blob.create({ id: 7 })), b.localAddress);
  const reply = new Promise<number>((resolve) => p.onMessage((m) => {
    resolve(m.decode(Blob).id);
    m.release();
  }));
  const sgw = await openPort({ backend: "tcp", engine: "native" });
  sgw.send(Blob.encode(Blob.create({ id: 9 })), p.localAddress);
  const t = setTimeout(() => process.exit(3), 5000);
  const replied = await reply;
  clearTimeout(t);
  await new Promise((r) => setTimeout(r, 100));
  console.log(JSON.stringify({ cpuMs: (c.user + c.system) / 1000, socketErrors: faults, served: replied, sent: got }));
  await sgw.close();
  await b.close();
  await p.close();
  process.exit(0);
}
