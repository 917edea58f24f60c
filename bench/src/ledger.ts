/** A port's copy ledger per message sent between two stats snapshots (the nic benchmarks' copy columns). */
import type { PortStats } from "../../packages/nic/dist/index.js";

export interface LedgerPerMessage {
  /** bytes the port copied (each once; stats.bytesCopied) */
  bytesCopiedPerMessage: number;
  /** bytes handed to the transport by reference (stats.bytesReferenced) */
  bytesReferencedPerMessage: number;
  /** every CPU copy by where it happened (stats.copies) */
  copiesPerMessage: { encoder: number; port: number; driver: number };
}

/**
 * Per message of the `n` sent between `s0` and `s1` (default: what the port counted as sent).
 * `encoderRan` false: the list was encoded once before the loop, so the encoder's column is 0
 * although the ledger counts the list's scratch with every send.
 */
export function ledgerPerMessage(s0: PortStats, s1: PortStats, encoderRan = true, n = s1.messagesSent - s0.messagesSent): LedgerPerMessage {
  const d = n || 1;
  return {
    bytesCopiedPerMessage: (s1.bytesCopied - s0.bytesCopied) / d,
    bytesReferencedPerMessage: (s1.bytesReferenced - s0.bytesReferenced) / d,
    copiesPerMessage: {
      encoder: encoderRan ? (s1.copies.encoder - s0.copies.encoder) / d : 0,
      port: (s1.copies.port - s0.copies.port) / d,
      driver: (s1.copies.driver - s0.copies.driver) / d,
    },
  };
}
