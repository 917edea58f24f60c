/**
 * hello: one message sent zero-copy and received as a view.
 *
 *   npx -y pnpm@12.4.2 --filter @sgwire/examples run hello [-- --backend udp|tcp] [--size BYTES]
 *
 * 1. `sgwire compile` turned schemas/hello.proto into gen/hello.sg.ts (the package's build script).
 * 2. The attachment lives in memory from `port.allocate()`: memory the backend can send from by
 *    reference (registered memory for DPDK; for kernel sockets, a buffer the port tracks).
 * 3. `Greeting.encode` returns a scatter-gather list: the header bytes are copied into the list's
 *    scratch, the attachment is a segment that IS the application's buffer.
 * 4. The port hands the segments to the kernel in one sendmsg (an iovec); nothing copies the
 *    attachment in user space. The receiver decodes into views of the receive buffer.
 */
import { openPort, type BackendName } from "@sgwire/nic";
import protobuf from "protobufjs";
import { Greeting } from "./gen/hello.sg.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

const backend = arg("backend", "udp") as BackendName;
const size = Number(arg("size", String(32 * 1024)));
if (backend !== "udp" && backend !== "tcp") throw new TypeError(`hello: --backend must be udp or tcp, got ${backend}`);
if (!Number.isInteger(size) || size < 1 || size > 60_000) throw new RangeError(`hello: --size must be 1..60000 bytes, got ${size}`);

const receiver = await openPort({ backend });
const sender = await openPort({ backend });

// the application's data, in memory the port can lend to the kernel
const attachment = sender.allocate(size);
for (let i = 0; i < size; i++) attachment.bytes[i] = (i * 31 + 7) & 0xff;

const msg = Greeting.create({ seq: 1, text: "hello, zero-copy world", attachment: attachment.bytes });
const list = Greeting.encode(msg, sender.policy);

const line = (s = ""): void => void process.stdout.write(s + "\n");
line(`hello: a Greeting with a ${size}-byte attachment over ${sender.caps.driver} (copy threshold ${sender.policy.copyThreshold} B)`);
line(`  encode -> ${list.segments.length} segments, ${list.byteLength} bytes:`);
list.segments.forEach((s, i) => {
  const kind = list.isScratch(i) ? "copied (scratch: tags, lengths, small fields)" : s === attachment.bytes ? "referenced: the attachment buffer itself" : "referenced";
  line(`    [${i}] ${String(s.length).padStart(6)} B  ${kind}`);
});
line(`  bytes copied ${list.bytesCopied}, bytes referenced ${list.bytesReferenced}`);

const received = new Promise<void>((resolve, reject) => {
  receiver.onMessage((m) => {
    try {
      const g = m.decode(Greeting);
      const view = g.attachment.buffer === m.bytes.buffer;
      const same = Buffer.compare(g.attachment, attachment.bytes) === 0;
      // the adoption story: a plain protobuf library decodes the same bytes
      const pb = protobuf.parse(`syntax = "proto3"; message Greeting { uint32 seq = 1; string text = 2; bytes attachment = 3; }`).root.lookupType("Greeting");
      const other = pb.decode(m.bytes) as unknown as { text: string; attachment: Uint8Array };
      line(`  received ${m.bytes.length} bytes from ${m.source.address}:${m.source.port}: seq ${g.seq}, "${g.text}"`);
      line(`  attachment is a view of the receive buffer (same ArrayBuffer, offset ${g.attachment.byteOffset}): ${view}`);
      line(`  attachment byte-identical to what was sent: ${same}`);
      line(`  protobufjs decodes the same bytes: text "${other.text}", ${other.attachment.length}-byte attachment, identical: ${Buffer.compare(other.attachment, attachment.bytes) === 0}`);
      m.release();
      if (!view || !same) reject(new Error("hello: the received attachment is not a byte-identical view"));
      else resolve();
    } catch (e) {
      reject(e);
    }
  });
});
// the port retains the attachment until the kernel has taken it; we must not write to it before
sender.send(list, receiver.localAddress);
line(
  attachment.refCount > 1
    ? `  in flight: attachment refCount ${attachment.refCount} (ours + the send's: the kernel has not taken the bytes yet)`
    : `  in flight: attachment refCount ${attachment.refCount} (below the copy threshold: copied, not lent)`,
);
await sender.completions();
line(`  send completed: refCount ${attachment.refCount}; the buffer may be rewritten now`);
await received;
const s = sender.stats;
line(`  sender stats: ${s.messagesSent} message, ${s.bytesCopied} B copied (scratch), ${s.bytesReferenced} B referenced`);
attachment.release();
await sender.close();
await receiver.close();
