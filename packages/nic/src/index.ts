export * from "./port.js";
export * from "./open-port.js";
export { UdpPort, UDP_MAX_PAYLOAD, type UdpPortOptions } from "./kernel/udp-port.js";
export { TcpPort, type TcpPortOptions } from "./kernel/tcp-port.js";
export { FrameReader, FrameError, lengthPrefix } from "./kernel/framing.js";
export type { DpdkPortOptions } from "./dpdk/options.js";
export { nicInfo, type NicInfo, type BackendInfo } from "./info.js";
