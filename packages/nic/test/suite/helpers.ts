import type { Port, PortFault, ReceivedMessage } from "../../src/index.js";

/** Resolves with the next `n` messages received on `port` (unreleased), or rejects after `ms`. */
export function collect(port: Port, n: number, ms = 10000): Promise<ReceivedMessage[]> {
  return new Promise((resolve, reject) => {
    const got: ReceivedMessage[] = [];
    if (n === 0) return resolve(got);
    const timer = setTimeout(() => {
      port.onMessage(null);
      reject(new Error(`timed out after ${ms} ms with ${got.length}/${n} messages`));
    }, ms);
    port.onMessage((m) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(timer);
        port.onMessage(null);
        resolve(got);
      }
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until `cond()` holds, checking every 5 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** Every 'fault' event of `p` from now on, in order. */
export function faultsOf(p: Port): PortFault[] {
  const out: PortFault[] = [];
  p.on("fault", (f: PortFault) => out.push(f));
  return out;
}
