import { defineMessage, SgList, type MessageType } from "@sgwire/core";
import { openPort, type PortOptions } from "./open-port.js";

/** `message Payload { bytes value = 1; }`: one field, so a send is [tag+length] + value. */
interface Payload {
  value: Uint8Array;
}
const Payload: MessageType<Payload> = defineMessage<Payload>({
  typeName: "sgwire.calibrate.Payload",
  create: () => ({ value: new Uint8Array(0) }),
  size: (m, e) => (m.value.length === 0 ? 0 : 1 + e.sizeBytes(m.value)),
  write: (m, e) => {
    if (m.value.length === 0) return;
    e.byte(0x0a);
    e.bytes(m.value);
  },
  read: (r, end, _g, t) => {
    const m = t ?? { value: new Uint8Array(0) };
    while (r.pos < end) {
      const tag = r.tag();
      if (tag === 0x0a) m.value = r.bytes();
      else r.skip(tag);
    }
    return m;
  },
});


/** The drivers of the native kernel engines: they have MSG_ZEROCOPY and a batch size to calibrate. */
const NATIVE_DRIVERS = new Set(["kernel-udp-native", "kernel-udp-uring", "kernel-tcp-native"]);

export interface CalibrationRow {
  bytes: number;
  copyPerSecond: number;
  referencePerSecond: number;
  /** the native kernel engines: referenced and sent with MSG_ZEROCOPY (completions awaited as part of the rate) */
  zeroCopyPerSecond?: number;
}

export interface Calibration {
  backend: string;
  driver: string;
  rows: CalibrationRow[];
  /** Smallest size from which referencing beat copying at every size measured; Infinity if never. */
  recommendedCopyThreshold: number;
  /** the native kernel engines: messages/s of 64-byte sends with each batch size (maxBatch) */
  batches?: Array<{ batch: number; perSecond: number }>;
  /** the native kernel engines: the smallest batch whose rate came within 5% of the best */
  recommendedMaxBatch?: number;
  /** the native kernel engines: smallest size from which MSG_ZEROCOPY beat a plain referenced send at every size measured; Infinity if never. */
  recommendedZeroCopyThreshold?: number;
}

/**
 * Measures encode + send of one bytes field, copied versus referenced, at sizes up to the
 * port's limit, and recommends the copy threshold: the size from which referencing wins.
 * Sends real traffic: to a sink port of the same backend for udp/tcp, to the configured
 * destination for dpdk (use net_null to measure the software path only).
 */
export async function calibrate(
  options: PortOptions = {},
  o: { msPerPoint?: number; destination?: { address: string; port: number } } = {},
): Promise<Calibration> {
  const port = await openPort(options);
  // the native kernel engines: a second port that sends every referencing message with MSG_ZEROCOPY
  const native = NATIVE_DRIVERS.has(port.caps.driver);
  const zc = native ? await openPort({ ...(options as object), zeroCopyThreshold: 1 } as PortOptions) : null;
  const kernel = port.caps.backend !== "dpdk";
  const sink = kernel ? await openPort({ backend: port.caps.backend as "udp" }) : null;
  sink?.onMessage((m) => m.release());
  const dest = sink?.localAddress ?? o.destination ?? { address: "198.18.0.2", port: 9000 };
  const ms = o.msPerPoint ?? 150;
  const rows: CalibrationRow[] = [];
  const batches: Array<{ batch: number; perSecond: number }> = [];
  /** Messages/s of encode + send of `value` through `p` with `copyThreshold`, after a warm-up. */
  const rate = async (p: typeof port, value: Uint8Array, copyThreshold: number): Promise<number> => {
    const opts = { ...p.policy, copyThreshold, into: new SgList(64) };
    const m = { value };
    const run = async (limit: number): Promise<number> => {
      const t0 = performance.now();
      let n = 0;
      while (performance.now() - t0 < limit) {
        for (let k = 0; k < 256; k++, n++) if (!p.send(Payload.encode(m, opts), dest)) await p.drained();
      }
      await p.completions();
      return n / ((performance.now() - t0) / 1000);
    };
    await run(ms / 3);
    return run(ms);
  };
  try {
    for (let size = 64; size <= Math.min(port.caps.maxMessageBytes - 8, 65536); size *= 2) {
      const rb = port.allocate(size);
      rb.bytes.fill(0x5a);
      const msg = { value: rb.bytes };
      const zrb = zc?.allocate(size);
      zrb?.bytes.fill(0x5a);
      const row: CalibrationRow = { bytes: size, copyPerSecond: await rate(port, msg.value, Infinity), referencePerSecond: await rate(port, msg.value, 0) };
      if (zc !== null && zrb !== undefined) row.zeroCopyPerSecond = await rate(zc, zrb.bytes, 0);
      rows.push(row);
      rb.release();
      zrb?.release();
    }
    // the native engines: how many sends to gather before a system call (64-byte messages)
    if (native) {
      for (const batch of [1, 4, 16, 64]) {
        const b = await openPort({ ...(options as object), maxBatch: batch } as PortOptions);
        try {
          batches.push({ batch, perSecond: await rate(b, new Uint8Array(64).fill(0x5a), Infinity) });
        } finally {
          await b.close();
        }
      }
    }
  } finally {
    await port.close();
    await zc?.close();
    await sink?.close();
  }
  let rec = Infinity;
  for (let i = rows.length - 1; i >= 0 && rows[i]!.referencePerSecond > rows[i]!.copyPerSecond; i--) rec = rows[i]!.bytes;
  const out: Calibration = { backend: port.caps.backend, driver: port.caps.driver, rows, recommendedCopyThreshold: rec };
  if (batches.length > 0) {
    const best = Math.max(...batches.map((b) => b.perSecond));
    out.batches = batches;
    out.recommendedMaxBatch = batches.find((b) => b.perSecond >= 0.95 * best)!.batch;
  }
  if (zc !== null) {
    let z = Infinity;
    for (let i = rows.length - 1; i >= 0 && rows[i]!.zeroCopyPerSecond! > rows[i]!.referencePerSecond; i--) z = rows[i]!.bytes;
    out.recommendedZeroCopyThreshold = z;
  }
  return out;
}
