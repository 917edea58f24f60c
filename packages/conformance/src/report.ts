/**
 * The results table of run-conformance.sh, rendered from the JSON it writes when
 * SGW_CONFORMANCE_JSON is set (results/conformance.json is the one the READMEs show).
 */

export interface ConformanceRun {
  label: string;
  /** SGW_COPY_THRESHOLD of the run ("default" or bytes) */
  threshold: string;
  /** SGW_MAX_SEGMENTS of the run ("default" or a count) */
  maxSegments: string;
  passed: number;
  failed: number;
  skipped: number;
  expectedFailures: number;
  seconds: number;
  /** the testee's own counters over the run (src/stats.ts) */
  testee: Partial<Record<"parsed" | "parseErrors" | "encodes" | "segments" | "referencedSegments" | "bytesCopied" | "bytesReferenced", number>>;
}

export interface ConformanceFile {
  command: string;
  revision: string;
  date: string;
  node: string;
  runner: string;
  maxEdition: number;
  runs: ConformanceRun[];
  fuzz: { seed: number; iterations: number; seeds: number; decoded: number; rejected: number; violations: number } | null;
}

function runName(r: ConformanceRun): string {
  const t = r.threshold === "default" ? "default copy threshold" : `copy threshold ${r.threshold}`;
  return r.maxSegments === "default" ? t : `${t}, at most ${r.maxSegments} segments`;
}

export function conformanceReport(f: ConformanceFile): string {
  const out = [
    `${f.runner}, Node ${f.node}, \`--enforce_recommended --maximum_edition ${f.maxEdition}\`; binary, ProtoJSON and text-format tests ("skipped": requests sgwire answered skipped):`,
    "",
    "| run | passed | failed | skipped | expected failures | seconds |",
    "|---|---|---|---|---|---|",
    ...f.runs.map((r) => `| ${runName(r)} | ${r.passed} | ${r.failed} | ${r.skipped} | ${r.expectedFailures} | ${r.seconds} |`),
    "",
  ];
  const first = f.runs[0];
  if (first !== undefined && first.testee.parsed !== undefined) {
    out.push(`The testee decodes ${first.testee.parsed} of the requests and rejects ${first.testee.parseErrors ?? 0} (malformed input).`);
    for (const r of f.runs.slice(1)) {
      const t = r.testee;
      out.push(
        `With ${runName(r)} they encode into ${t.segments ?? 0} segments, ${t.referencedSegments ?? 0} of them referenced bytes fields ` +
          `(${t.bytesReferenced ?? 0} bytes not copied).`,
      );
    }
  }
  if (f.fuzz !== null) {
    const z = f.fuzz;
    out.push("");
    out.push(
      `Fuzzing (\`SGW_FUZZ_SEED=${z.seed}\`): ${z.iterations} mutants of the ${z.seeds} inputs, ${z.decoded} decoded and ${z.rejected} rejected, ` +
        `${z.violations} property violations.`,
    );
  }
  return out.join("\n");
}

/** What scripts/differential.sh writes when SGW_DIFFERENTIAL_JSON is set. */
export interface DifferentialFile {
  command: string;
  revision: string;
  date: string;
  libprotobuf: string;
  cases: number;
  unexplained: number;
  /** cases by outcome or known cause (scripts/differential.py) */
  kinds: Record<string, number>;
}

export function differentialReport(f: DifferentialFile): string {
  return [
    `${f.libprotobuf}: ${f.cases} cases, ${f.unexplained} unexplained differences.`,
    "",
    "| cases | outcome or cause |",
    "|---|---|",
    ...Object.entries(f.kinds).map(([k, v]) => `| ${v} | ${k} |`),
  ].join("\n");
}
