/** Addresses the native sockets report as bytes, as the text Node's sockets give. */

/** The IPv4 address in 4 bytes at `o`. */
export function ipv4Text(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** The IPv6 address in 16 bytes at `o`, the longest run of two or more zero groups as "::" (RFC 5952). */
export function ipv6Text(b: Uint8Array, o: number): string {
  const g: string[] = [];
  for (let k = 0; k < 16; k += 2) g.push(((b[o + k]! << 8) | b[o + k + 1]!).toString(16));
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return g.join(":");
  return `${g.slice(0, best).join(":")}::${g.slice(best + bestLen).join(":")}`;
}
