/// <reference types="node" preserve="true" />
export * from "./port.js";
export * from "./open-port.js";
export { UdpPort, UDP_MAX_PAYLOAD, type UdpPortOptions } from "./kernel/udp-port.js";
export { TcpPort, type TcpPortOptions } from "./kernel/tcp-port.js";
export { FrameReader, FrameError, lengthPrefix } from "./kernel/framing.js";
export type { DpdkPortOptions } from "./dpdk/options.js";
export { nicInfo, type NicInfo, type BackendInfo, type EngineInfo } from "./info.js";
export { DpdkPort } from "./dpdk/dpdk-port.js";
export type { EalOptions } from "./dpdk/options.js";
export { calibrate, type Calibration, type CalibrationRow } from "./calibrate.js";
export { IbverbsPort } from "./ibverbs/ibverbs-port.js";
export type { IbverbsPortOptions } from "./ibverbs/options.js";
export { calibrationFile, loadStoredPolicy, storePolicy, type StoredPolicy } from "./calibration-store.js";
