/** The table of bench/nic-ibverbs-bench.ts, rendered from what it writes to bench/results/nic-ibverbs-bench.json. */

export interface NicIbverbsRow {
  /** the case: encoder + transport */
  name: string;
  /** the sending port's caps.backend, caps.driver ("rxe0/rc", "kernel-udp") and caps.driverCopies */
  backend: string;
  driver: string;
  driverCopies: "all" | "none";
  /** median messages per second over the rounds against the first case's (sgwire + ibverbs RC) */
  relative: number;
  /** messages the sending port counted as sent over the measured rounds (the warm-up excluded) */
  messagesSent: number;
  /** segments of the message the case hands to send() */
  segments: number;
  /** per measured message, from the sending port's stats deltas: bytes the port copied (each once) */
  bytesCopiedPerMessage: number;
  /** per measured message: bytes handed to the transport by reference (stats.bytesReferenced) */
  bytesReferencedPerMessage: number;
  /** per measured message: the sending port's copy ledger (stats.copies) */
  copiesPerMessage: { encoder: number; port: number; driver: number };
  /**
   * stats.txRingFull over the measured rounds: ibverbs counts each time the staging ring filled;
   * the messages sent meanwhile are kept with a copy of their unregistered bytes (keep()) that the
   * ledger does not count
   */
  txRingFull: number;
}

export interface NicIbverbsFile {
  /** the command line, from the repository root */
  command: string;
  /** the commit measured ("+changes" when the tree differed from it) */
  revision: string;
  /** ISO date the run started */
  date: string;
  /** where it ran: the VM, its CPU and RDMA devices */
  where: string;
  node: string;
  /** bytes of the message's `value` */
  value: number;
  messages: number;
  rounds: number;
  window: number;
  ratios: Record<string, number>;
  rows: NicIbverbsRow[];
}

export function nicIbverbsReport(f: NicIbverbsFile): string {
  const lines = [
    `@sgwire/nic ibverbs in ${f.where}, Node ${f.node}: Record {uint32 id, bytes key (16 B), bytes value (${f.value} B)} per message,`,
    `sender and receiver in one process; ${f.messages} messages x ${f.rounds} rounds per case (+1 warm-up), windows of ${f.window} messages`,
    `(rel: median messages per second against the first row's; the CPU is emulated, so only ratios mean anything;`,
    ` copies, bytes per measured message from the sending port's stats: enc = written by the encoder, port = copied by the port,`,
    ` drv = copied by the driver or kernel (caps.driverCopies), ref'd = handed over by reference)`,
    `${"case".padEnd(46)} ${"driver".padEnd(10)} ${"drv copies".padEnd(10)} ${"rel".padStart(6)} ${"segs".padStart(4)} ${"enc B".padStart(6)} ${"port B".padStart(6)} ${"drv B".padStart(6)} ${"ref'd B".padStart(7)}`,
  ];
  for (const r of f.rows) {
    const k = r.copiesPerMessage;
    lines.push(
      `${r.name.padEnd(46)} ${r.driver.padEnd(10)} ${r.driverCopies.padEnd(10)} ${`${r.relative.toFixed(2)}x`.padStart(6)} ${String(r.segments).padStart(4)} ` +
        `${k.encoder.toFixed(0).padStart(6)} ${k.port.toFixed(0).padStart(6)} ${k.driver.toFixed(0).padStart(6)} ${r.bytesReferencedPerMessage.toFixed(0).padStart(7)}`,
    );
  }
  for (const [name, v] of Object.entries(f.ratios)) lines.push(`${name}: ${v.toFixed(2)}x`);
  const full = f.rows.filter((r) => r.backend === "ibverbs" && r.txRingFull > 0);
  if (full.length > 0) {
    lines.push(
      `staging ring full (messages kept meanwhile were copied once more, which the ledger does not count): ` +
        full.map((r) => `${r.name} ${r.txRingFull} times`).join(", "),
    );
  }
  return lines.join("\n");
}
