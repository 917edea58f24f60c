/**
 * Counters one testee process keeps and, when SGW_CONFORMANCE_STATS names a file, appends there
 * as one JSON line on exit. run-conformance.sh sums them to show how much of the suite's traffic
 * took the referenced (zero-copy) path.
 */
import type { SgList } from "@sgwire/core";

export class Stats {
  parsed = 0;
  parseErrors = 0;
  skipped = 0;
  runtimeErrors = 0;
  encodes = 0;
  segments = 0;
  referencedSegments = 0;
  bytesCopied = 0;
  bytesReferenced = 0;

  constructor(readonly copyThreshold: string) {}

  encoded(list: SgList, referencedSegments: number): void {
    this.encodes++;
    this.segments += list.segments.length;
    this.referencedSegments += referencedSegments;
    this.bytesCopied += list.bytesCopied;
    this.bytesReferenced += list.bytesReferenced;
  }
}
