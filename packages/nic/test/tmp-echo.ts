import { openPort } from "../src/index.js";
import { Blob } from "./fixtures/blob.js";
const a = await openPort({ backend: "udp", engine: "native" });
const b = await openPort({ backend: "udp", engine: "native" });
b.onMessage((m) => { const x = m.decode(Blob); b.send(Blob.encode(Blob.create({ id: x.id, key: Uint8Array.from(x.key) })), m.source); m.release(); });
let bad = 0, got = 0; const seen = new Set<number>();
a.onMessage((m) => { const x = m.decode(Blob); const want = x.id & 0xff; if (!x.key.every((v) => v === want) || x.key.length !== 100 + (x.id % 3 === 0 ? 0 : 50)) { bad++; if (bad < 5) console.log("bad", x.id, x.key.length, x.key.slice(0, 4)); } seen.add(x.id); got++; m.release(); });
let id = 0;
for (let r = 0; r < 50; r++) {
  for (let i = 0; i < 40; i++) { id++; a.send(Blob.encode(Blob.create({ id, key: new Uint8Array(100 + (id % 3 === 0 ? 0 : 50)).fill(id & 0xff) })), b.localAddress); }
  const t = Date.now(); while (got < id && Date.now() - t < 2000) await new Promise((res) => setTimeout(res, 1));
}
console.log({ sent: id, got, bad, missing: id - seen.size, aDrops: a.stats.drops, bDrops: b.stats.drops, bRecv: b.stats.messagesReceived });
await a.close(); await b.close();
