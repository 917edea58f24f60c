/**
 * The hybrid copy policy (as in Cornflakes): small fields are copied into scratch, large fields
 * are referenced when their memory is eligible, and when a message would need more segments than
 * the transport allows, the smallest referenced fields are copied until it fits.
 */

/** Default copy threshold in bytes: the value the Cornflakes paper validated on mlx5 NICs. */
export const DEFAULT_COPY_THRESHOLD = 512;

export interface CopyPolicy {
  /**
   * Fields shorter than this many bytes are copied; fields at or above it are referenced (when
   * eligible). 0 references every non-empty bytes field; Infinity copies everything.
   */
  copyThreshold?: number;
  /**
   * Largest number of segments a message may use (a NIC's or transport's limit). When a message
   * would exceed it, the smallest referenced fields are copied until it fits. A list with r
   * referenced fields is budgeted as 2r + 1 segments.
   */
  maxSegments?: number;
  /**
   * Whether a buffer's memory may be referenced, for backends that can only transmit from
   * registered memory. Ineligible fields are copied. Default: any memory is eligible.
   */
  isEligible?: ((buf: Uint8Array) => boolean) | null;
}

/** A policy with every member resolved. */
export interface ResolvedCopyPolicy {
  copyThreshold: number;
  maxSegments: number;
  isEligible: ((buf: Uint8Array) => boolean) | null;
}

const globalPolicy: ResolvedCopyPolicy = {
  copyThreshold: DEFAULT_COPY_THRESHOLD,
  maxSegments: Infinity,
  isEligible: null,
};

function checkPolicy(p: CopyPolicy, where: string): void {
  const t = p.copyThreshold;
  if (t !== undefined && (typeof t !== "number" || Number.isNaN(t) || t < 0)) {
    throw new RangeError(`${where}: copyThreshold must be a number >= 0 (bytes), got ${String(t)}`);
  }
  const m = p.maxSegments;
  if (m !== undefined && (typeof m !== "number" || !(m >= 1) || (m !== Infinity && !Number.isInteger(m)))) {
    throw new RangeError(`${where}: maxSegments must be an integer >= 1 or Infinity, got ${String(m)}`);
  }
  const e = p.isEligible;
  if (e !== undefined && e !== null && typeof e !== "function") {
    throw new TypeError(`${where}: isEligible must be a function or null`);
  }
}

/** Changes the process-wide defaults used when an encode call does not say otherwise. */
export function setDefaultCopyPolicy(p: CopyPolicy): void {
  checkPolicy(p, "setDefaultCopyPolicy");
  globalVersion++;
  if (p.copyThreshold !== undefined) globalPolicy.copyThreshold = p.copyThreshold;
  if (p.maxSegments !== undefined) globalPolicy.maxSegments = p.maxSegments;
  if (p.isEligible !== undefined) globalPolicy.isEligible = p.isEligible;
}

/** The current process-wide defaults (a copy). */
export function getDefaultCopyPolicy(): ResolvedCopyPolicy {
  return { ...globalPolicy };
}

/**
 * Merges per-call options over a codec's generated default threshold (if any) over the
 * process-wide defaults.
 */
export function resolveCopyPolicy(p: CopyPolicy | undefined, codecThreshold?: number): ResolvedCopyPolicy {
  if (p === undefined || (p.copyThreshold === undefined && p.maxSegments === undefined && p.isEligible === undefined)) {
    // the common case (no options, or only `into`): no checks, no allocation
    if (codecThreshold === undefined) return globalPolicy;
    p = {};
  } else checkPolicy(p, "encode options");
  return {
    copyThreshold: p.copyThreshold ?? codecThreshold ?? globalPolicy.copyThreshold,
    maxSegments: p.maxSegments ?? globalPolicy.maxSegments,
    isEligible: p.isEligible === undefined ? globalPolicy.isEligible : p.isEligible,
  };
}

/** Bumped by setDefaultCopyPolicy: what was resolved before it is stale. */
let globalVersion = 0;
let lastIn: CopyPolicy | undefined;
let lastCodec: number | undefined;
let lastThr: unknown;
let lastMax: unknown;
let lastElig: unknown;
let lastVersion = -1;
let lastOut: Readonly<ResolvedCopyPolicy> = globalPolicy;

/**
 * @internal resolveCopyPolicy for encode(): a sender passes the same options object with every
 * message (`{ ...port.policy, into }`), so the last resolution is kept and handed back while that
 * object, its three fields, the codec's threshold and the process-wide defaults are unchanged:
 * no checks and no allocation per encode. The result is frozen: read it, never change it.
 */
export function resolveCopyPolicyCached(p: CopyPolicy | undefined, codecThreshold?: number): Readonly<ResolvedCopyPolicy> {
  if (p !== undefined && p === lastIn && codecThreshold === lastCodec && lastVersion === globalVersion && p.copyThreshold === lastThr && p.maxSegments === lastMax && p.isEligible === lastElig) {
    return lastOut;
  }
  const out = resolveCopyPolicy(p, codecThreshold);
  // the shared defaults object is returned as it is (it changes with setDefaultCopyPolicy)
  if (out === globalPolicy || p === undefined) return out;
  lastOut = Object.freeze(out);
  lastIn = p;
  lastCodec = codecThreshold;
  lastThr = p.copyThreshold;
  lastMax = p.maxSegments;
  lastElig = p.isEligible;
  lastVersion = globalVersion;
  return lastOut;
}

/** How many referenced fields fit in `maxSegments` (each costs itself and the scratch after it). */
export function maxReferences(maxSegments: number): number {
  return maxSegments === Infinity ? Infinity : Math.max(0, Math.floor((maxSegments - 1) / 2));
}
