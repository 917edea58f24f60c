import type { Port } from "../port.js";
import type { DpdkPortOptions } from "./options.js";

export class DpdkPort {
  static async open(_o: DpdkPortOptions): Promise<Port> {
    throw new Error("@sgwire/nic: the dpdk backend is not part of this build yet (only udp and tcp are)");
  }
}
