import type { Port } from "./port.js";
import { UdpPort, checkUdpOptions, type UdpPortOptions } from "./kernel/udp-port.js";
import { NativeUdpPort } from "./kernel/native-udp-port.js";
import { TcpPort, checkTcpOptions, type TcpPortOptions } from "./kernel/tcp-port.js";
import { NativeTcpPort } from "./kernel/native-tcp-port.js";
import type { DpdkPortOptions } from "./dpdk/options.js";
import { DpdkPort } from "./dpdk/dpdk-port.js";
import type { IbverbsPortOptions } from "./ibverbs/options.js";
import { IbverbsPort } from "./ibverbs/ibverbs-port.js";

export type PortOptions = UdpPortOptions | TcpPortOptions | DpdkPortOptions | IbverbsPortOptions;

/**
 * Opens a port on one backend: "udp" (default), "tcp", "dpdk" or "ibverbs". Options are checked before
 * anything is opened: an unknown key or a bad value is a TypeError/RangeError naming it.
 */
export async function openPort(options: PortOptions = {}): Promise<Port> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`openPort: options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  const backend = options.backend ?? "udp";
  switch (backend) {
    case "udp":
      // the engine: the option's, else native where the addon is built (checked: a bad option is named first)
      return checkUdpOptions(options as UdpPortOptions).engine !== "dgram" ? NativeUdpPort.open(options as UdpPortOptions) : UdpPort.open(options as UdpPortOptions);
    case "tcp":
      return checkTcpOptions(options as TcpPortOptions).engine === "native" ? NativeTcpPort.open(options as TcpPortOptions) : TcpPort.open(options as TcpPortOptions);
    case "dpdk":
      // the addon is loaded on first use, so udp/tcp users never need it
      return DpdkPort.open(options as DpdkPortOptions);
    case "ibverbs":
      // its own addon (sgwire_ibverbs.node), loaded on first use
      return IbverbsPort.open(options as IbverbsPortOptions);
    default:
      throw new TypeError(`openPort: unknown backend "${String(backend)}" (known: udp, tcp, dpdk, ibverbs)`);
  }
}
