/** Options of `openPort({ backend: "ibverbs", ... })`. */
export interface IbverbsPortOptions {
  backend: "ibverbs";
  /**
   * Where the port listens (the same `bind` shape as every backend). `address`: the IPv4 address
   * of the interface an RDMA device sits on (RoCE / Soft-RoCE); rdma_cm binds there and picks
   * the device. Required. `port`: the rdma_cm port for connections; 0 (default) takes a free one
   * (see localAddress).
   */
  bind: { address: string; port?: number };
  /** The RDMA device the address must be on ("rxe0", "mlx5_0"); checked when given. */
  device?: string;
  /**
   * "rc" (default): reliable connections, one QP per peer, messages up to `recvBytes`.
   * "ud": unreliable datagrams from one QP, messages up to the path MTU.
   */
  transport?: "rc" | "ud";
  /** Work requests in flight per send queue. Default 256. */
  sendDepth?: number;
  /** Receive buffers posted to the shared receive queue. Default 512. */
  recvSlots?: number;
  /** RC: bytes per receive buffer, the largest message this port receives. Default 65536. UD: the path MTU, not settable. */
  recvBytes?: number;
  /** Largest message sent inline (IBV_SEND_INLINE), requested from the device. Default 256; 0 turns inline off. */
  maxInline?: number;
  /** Registered staging region for copied (scratch) bytes, in bytes. Default 4 MiB. */
  stageBytes?: number;
  /** How long connect() waits, in ms. Default 15000. */
  connectTimeoutMs?: number;
  /** Overrides the recommended copy threshold (bytes). */
  copyThreshold?: number;
  /**
   * Fingerprint every referenced segment at send and at completion; a change (the application
   * wrote to lent memory too early) is an 'error' event with a LentBufferMutatedError. Off by default.
   */
  debugLentBuffers?: boolean;
  /** How long close() waits for accepted sends to complete before dropping them (ms). Default 5000. */
  closeTimeoutMs?: number;
}

export const IBVERBS_KEYS = [
  "backend", "bind", "device", "transport", "sendDepth", "recvSlots", "recvBytes", "maxInline",
  "stageBytes", "connectTimeoutMs", "copyThreshold", "debugLentBuffers", "closeTimeoutMs",
] as const;
