import type { Port, ReceivedMessage } from "../../src/index.js";

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
