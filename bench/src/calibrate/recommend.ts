/**
 * The copy-policy recommendation from a copy-versus-reference heatmap (Cornflakes' calibration):
 * a pure function of measured cells, with no imports, so `sgwire calibrate` and @sgwire/nic can
 * call it on figures measured anywhere.
 *
 * A cell is one message shape, `fields` bytes fields of `fieldBytes` each, sent both ways:
 * every field copied into scratch (one segment) and every field referenced (2 * fields + 1
 * segments). Referencing wins a cell when it is faster by more than `margin`.
 *
 * - copyThreshold: the crossover for a single field (the common case, and the one that does not
 *   depend on segment costs piling up): the smallest measured size at which referencing wins and
 *   from which it wins at least 3/4 of the larger sizes too. With no crossover, Infinity (always
 *   copy).
 * - maxSegments: the largest segment count (2k + 1 for k referenced fields) such that, for every
 *   field count up to k, referencing wins on the geometric mean of the copy/reference ratios over
 *   the measured sizes at or above copyThreshold (a mean, not every cell: one noisy cell must not
 *   decide), capped by the backend's limit; the backend's limit itself when referencing wins at
 *   every count measured. Past it the encoder copies the smallest fields, which is what the
 *   heatmap says pays.
 */

export interface HeatCell {
  /** size of each bytes field */
  fieldBytes: number;
  /** number of bytes fields in the message */
  fields: number;
  /** ns per message (encode + send) with every field copied */
  copyNs: number;
  /** ns per message with every field referenced */
  referenceNs: number;
}

export interface Recommendation {
  copyThreshold: number;
  maxSegments: number;
  /** per field count: the crossover size, or null when referencing never settled into winning */
  crossover: { fields: number; fieldBytes: number | null }[];
  /** why, in one line per decision */
  reasons: string[];
}

export interface RecommendOptions {
  /** the backend's own limit (PortCaps.maxSegments) */
  maxSegments: number;
  /** referencing must be faster by this fraction to count as a win; default 0.05 */
  margin?: number;
}

function wins(c: HeatCell, margin: number): boolean {
  return c.referenceNs < c.copyNs * (1 - margin);
}

/**
 * The crossover among cells of one field count: the smallest size that wins and from which at
 * least 3/4 of the measured sizes (it and all larger ones) win. Not "every larger size": on a
 * busy machine one noisy cell would move the threshold by a factor of four.
 */
function crossoverOf(cells: HeatCell[], margin: number): number | null {
  const sorted = cells.slice().sort((a, b) => a.fieldBytes - b.fieldBytes);
  for (let i = 0; i < sorted.length; i++) {
    if (!wins(sorted[i]!, margin)) continue;
    const rest = sorted.slice(i);
    if (rest.filter((c) => wins(c, margin)).length >= 0.75 * rest.length) return sorted[i]!.fieldBytes;
  }
  return null;
}

export function recommendPolicy(cells: HeatCell[], o: RecommendOptions): Recommendation {
  const margin = o.margin ?? 0.05;
  const counts = [...new Set(cells.map((c) => c.fields))].sort((a, b) => a - b);
  const crossover = counts.map((k) => ({ fields: k, fieldBytes: crossoverOf(cells.filter((c) => c.fields === k), margin) }));
  const reasons: string[] = [];
  if (counts.length === 0) return { copyThreshold: Infinity, maxSegments: o.maxSegments, crossover, reasons: ["no cells measured"] };

  const single = crossover[0]!;
  const copyThreshold = single.fieldBytes ?? Infinity;
  reasons.push(
    single.fieldBytes === null
      ? `with ${single.fields} field(s) referencing never beat copying by ${margin * 100}%: copy everything`
      : `with ${single.fields} field(s) referencing wins (by more than ${margin * 100}%) from ${single.fieldBytes} B up`,
  );

  let maxFields = 0;
  let allWin = true;
  for (const k of counts) {
    const big = cells.filter((c) => c.fields === k && c.fieldBytes >= copyThreshold);
    // no message this large was measured (the backend's message size limit): no evidence either way
    if (big.length === 0) continue;
    const logMean = big.reduce((a, c) => a + Math.log(c.copyNs / c.referenceNs), 0) / big.length;
    if (Math.exp(logMean) > 1 / (1 - margin)) maxFields = k;
    else {
      allWin = false;
      break;
    }
  }
  let maxSegments: number;
  if (copyThreshold === Infinity) {
    maxSegments = o.maxSegments;
    reasons.push(`maxSegments left at the backend's ${o.maxSegments} (nothing is referenced)`);
  } else if (allWin) {
    maxSegments = o.maxSegments;
    reasons.push(
      `referencing still wins with ${maxFields} fields (the most measured at sizes >= ${copyThreshold} B): keep the backend's ${o.maxSegments} segments`,
    );
  } else {
    maxSegments = Math.min(o.maxSegments, Math.max(1, 2 * maxFields + 1));
    reasons.push(
      maxFields === 0
        ? `referencing loses already with the fewest fields measured: 1 segment`
        : `referencing wins up to ${maxFields} fields (${2 * maxFields + 1} segments), not beyond, at sizes >= ${copyThreshold} B`,
    );
  }
  return { copyThreshold, maxSegments, crossover, reasons };
}
