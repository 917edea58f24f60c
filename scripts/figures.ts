/**
 * The figures in this repository's READMEs, traced to committed JSON.
 *
 *   npx tsx scripts/figures.ts [check]         every figures block equals what its JSON renders to
 *   npx tsx scripts/figures.ts update          re-render every block from its JSON
 *   npx tsx scripts/figures.ts measure ID...   run the commands that measure those figures (or
 *                                              `all`), then update; needs a clean tree (root for
 *                                              the DPDK ones)
 *   npx tsx scripts/figures.ts list            the sources, their JSON, command and revision
 *
 * A block in a Markdown file is
 *
 *   <!-- figures:ID -->
 *   ...rendered from SOURCES[ID].json, never edited by hand...
 *   <!-- /figures:ID -->
 *
 * Each JSON carries the command that wrote it, the date, and the revision measured: a figure
 * measured on a tree with uncommitted code changes ("+changes") or at a commit this repository
 * does not have is refused. `check` also refuses Markdown tables and fenced blocks outside any
 * figures block that hold measurements (times, rates, ratios): a figure in a README is either
 * rendered from a JSON here or not there. `bash scripts/test.sh` runs `check`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { markdownReport } from "../bench/src/report/markdown.js";
import { plots } from "../bench/src/report/plots.js";
import type { RunFile } from "../bench/src/report/run-file.js";
import { bytesFieldReport, type BytesFieldFile } from "../bench/src/report/bytes-field-report.js";
import { calibrateReport, type CalibrateFile } from "../bench/src/report/calibrate-report.js";
import { grpcBenchReport, type GrpcBenchFile } from "../bench/src/grpc/report.js";
import { nicBenchReport, type NicBenchFile } from "../bench/src/report/nic-bench-report.js";
import { nicIbverbsReport, type NicIbverbsFile } from "../bench/src/report/nic-ibverbs-report.js";
import { kvCompareReport, type KvCompareFile } from "../examples/kv/report.js";
import { conformanceReport, differentialReport, type ConformanceFile, type DifferentialFile } from "../packages/conformance/src/report.js";

const root = fileURLToPath(new URL("../", import.meta.url));

interface Provenance {
  command: string;
  revision: string;
  date: string;
}

interface Source {
  id: string;
  /** the JSON, from the repository root */
  json: string;
  /** what measures it, run by `bash -c` from the repository root */
  measure: string;
  /** what it needs beyond `pnpm install` */
  needs?: string;
  /** the block's body; `doc` is the directory of the Markdown file it goes into */
  render(data: never, doc: string): string;
}

const fence = (s: string): string => "```\n" + s + "\n```";

const SOURCES: Source[] = [
  {
    id: "bench-full",
    json: "bench/results/full.json",
    measure: "cd bench && ./node_modules/.bin/tsx src/main.ts",
    render: (run: RunFile, doc) => {
      const body = markdownReport(run).replace(/^# .*\n/, "").replace(/^## /gm, "### ").trimEnd();
      const rel = relative(doc, join(root, "bench/results")) || ".";
      const images = plots(run).map((p) => `![${p.title}](${rel}/${run.name}-${p.name}.svg)`).join("\n\n");
      return `${body}\n\n${images}`;
    },
  },
  {
    id: "bench-bytes",
    json: "bench/results/bytes-field.json",
    measure: "cd bench && ./node_modules/.bin/tsx src/bytes-field.ts --quick --json results/bytes-field.json",
    render: (f: BytesFieldFile) => fence(bytesFieldReport(f)),
  },
  {
    id: "calibrate-udp",
    json: "bench/results/calibrate-udp.json",
    measure: "cd bench && ./node_modules/.bin/tsx src/calibrate.ts",
    render: (f: CalibrateFile, doc) => {
      const m = f.machine;
      const rel = relative(doc, join(root, "bench/results")) || ".";
      return (
        `Node ${m.node}, ${m.cpus} x ${m.cpuModel}, load average ${m.loadAverage.join(" ")} at the start:\n\n` +
        `${fence(calibrateReport(f))}\n\n![copy vs reference heatmap](${rel}/${f.name}.svg)`
      );
    },
  },
  {
    id: "grpc-bench",
    json: "bench/results/grpc-bench.json",
    measure: "cd bench && ./node_modules/.bin/tsx src/grpc/main.ts",
    render: (f: GrpcBenchFile) =>
      `${f.machine.cpus} x ${f.machine.cpuModel}, Node ${f.machine.node}, load average ${f.loadAverageEnd.join(" ")} at the end:\n\n${fence(grpcBenchReport(f))}`,
  },
  {
    id: "nic-bench",
    json: "bench/results/nic-bench.json",
    measure: "node --import tsx bench/nic-bench.ts --seconds 3",
    needs: "root, libdpdk-dev and scripts/setup-system.sh (hugepages, veths)",
    render: (f: NicBenchFile) =>
      `${f.machine.cores} x ${f.machine.cpu}, Node ${f.machine.node}, ${f.machine.dpdk ?? "no DPDK"}, value ${f.valueBytes} B, ` +
      `${f.seconds} s per row:\n\n${fence(nicBenchReport(f))}`,
  },
  {
    id: "nic-ibverbs",
    json: "bench/results/nic-ibverbs-bench.json",
    measure: "bash packages/nic/scripts/bench-rdma-vm.sh",
    needs: "the ibverbs addon (libibverbs-dev, librdmacm-dev) and packages/nic/scripts/rdma-vm (qemu; its first run installs its packages and builds its kernel as root)",
    render: (f: NicIbverbsFile) => fence(nicIbverbsReport(f)),
  },
  ...(
    [
      ["kv-udp-quick", "--quick "],
      ["kv-udp", ""],
      ["kv-tcp-quick", "--backend tcp --quick "],
      ["kv-udp-native-quick", "--quick --codecs sgwire@dgram,sgwire@native,sgwire@uring,protobufjs@dgram --workloads fixed:64,fixed:4096 "],
      ["kv-tcp-native-quick", "--backend tcp --quick --codecs sgwire@net,sgwire@native,protobufjs@net --workloads fixed:64,fixed:4096 "],
    ] as const
  ).map(([id, args]) => kvSource(id, `cd examples && ./node_modules/.bin/tsx kv/compare.ts ${args}--json results/${id}.json`)),
  {
    ...kvSource("kv-dpdk-quick", "bash examples/scripts/kv-dpdk.sh --quick --json results/kv-dpdk-quick.json"),
    needs: "root, libdpdk-dev and scripts/setup-system.sh (the sgw-a/sgw-b namespaces)",
  },
  {
    id: "conformance",
    json: "packages/conformance/results/conformance.json",
    measure: "SGW_CONFORMANCE_JSON=results/conformance.json bash packages/conformance/run-conformance.sh",
    render: (f: ConformanceFile) => conformanceReport(f),
  },
  {
    id: "differential",
    json: "packages/conformance/results/differential.json",
    measure:
      "cd packages/conformance && { [[ -s out/corpus.jsonl ]] || bash run-conformance.sh >/dev/null; } && " +
      "SGW_DIFFERENTIAL_JSON=results/differential.json bash scripts/differential.sh 11 60000",
    needs: "Debian's python3-protobuf, protobuf-compiler and libprotobuf-dev (the script installs them as root)",
    render: (f: DifferentialFile) => differentialReport(f),
  },
];

function kvSource(id: string, measure: string): Source {
  return {
    id,
    json: `examples/results/${id}.json`,
    measure,
    render: (f: KvCompareFile) => {
      const m = f.machine;
      return `${m.cpus} x ${m.cpuModel}, Node ${m.node}, load average ${m.loadAverage.join(" ")} at the end:\n\n${fence(kvCompareReport(f))}`;
    },
  };
}

const git = (...args: string[]): string => execFileSync("git", args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();

/** The Markdown files of the repository (tracked or new), without dependencies. */
function docs(): string[] {
  return git("ls-files", "--cached", "--others", "--exclude-standard", "*.md")
    .split("\n")
    // results/ holds what the measuring commands write (bench's <name>.md), not documentation
    .filter((f) => f !== "" && !f.includes("node_modules/") && !/(^|\/)results\//.test(f) && existsSync(join(root, f)));
}

interface Block {
  id: string;
  /** offsets of the body, between the two marker lines */
  start: number;
  end: number;
  line: number;
}

const OPEN = /^<!-- figures:([a-z0-9-]+) -->$/gm;

function blocks(text: string, file: string): Block[] {
  const out: Block[] = [];
  for (const m of text.matchAll(OPEN)) {
    const close = `<!-- /figures:${m[1]} -->`;
    const start = m.index! + m[0].length + 1;
    const end = text.indexOf(close, start);
    const line = text.slice(0, m.index).split("\n").length;
    if (end < 0) throw new Error(`${file}:${line}: figures block ${m[1]} has no closing ${close}`);
    out.push({ id: m[1]!, start, end, line });
  }
  return out;
}

function provenanceLine(s: Source, p: Provenance, doc: string): string {
  const rel = relative(doc, join(root, s.json));
  return `Measured ${p.date.slice(0, 16).replace("T", " ")} UTC at revision ${p.revision} by \`${p.command}\`; every figure below is in [${rel}](${rel}).`;
}

/** The body a block of `s` must have in a Markdown file in directory `doc`, or why it cannot. */
function render(s: Source, doc: string): { body?: string; problems: string[] } {
  const path = join(root, s.json);
  if (!existsSync(path)) return { problems: [`${s.json} is missing (measure it: ${s.measure})`] };
  const data = JSON.parse(readFileSync(path, "utf8")) as Partial<Provenance>;
  const problems: string[] = [];
  for (const k of ["command", "revision", "date"] as const) if (typeof data[k] !== "string") problems.push(`${s.json} has no "${k}"`);
  if (problems.length > 0) return { problems };
  const p = data as Provenance;
  if (p.revision.endsWith("+changes")) problems.push(`${s.json} was measured on a tree with uncommitted changes (${p.revision}): commit, then measure again`);
  else if (!commitExists(p.revision)) problems.push(`${s.json}: revision ${p.revision} is not a commit of this repository`);
  const body = `${provenanceLine(s, p, doc)}\n\n${(s.render as (d: unknown, doc: string) => string)(data, doc).trimEnd()}\n`;
  return { body, problems };
}

function commitExists(rev: string): boolean {
  try {
    git("cat-file", "-e", `${rev}^{commit}`);
    return true;
  } catch {
    return false;
  }
}

// a measurement in a table row or a fenced block: a time, a rate or a ratio
const MEASUREMENT = /\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|k|M|x|msg\/s|req\/s|MiB\/s|GiB\/s|Gbit\/s)(?=[\s|,;)]|$)/;

/** Lines outside figures blocks that look like measured figures: tables and fenced blocks only. */
function unmarked(text: string, bs: Block[]): number[] {
  const lines: number[] = [];
  let offset = 0;
  let inFence = false;
  for (const [i, l] of text.split("\n").entries()) {
    const at = offset;
    offset += l.length + 1;
    if (l.startsWith("```")) {
      inFence = !inFence;
      continue;
    }
    if (bs.some((b) => at >= b.start && at < b.end)) continue;
    if ((inFence || l.startsWith("|")) && MEASUREMENT.test(l) && !/^\s*(\/\/|#)/.test(l)) lines.push(i + 1);
  }
  return lines;
}

function sourceOf(id: string, where: string): Source {
  const s = SOURCES.find((x) => x.id === id);
  if (s === undefined) throw new Error(`${where}: unknown figures source ${id} (known: ${SOURCES.map((x) => x.id).join(", ")})`);
  return s;
}

/** Checks (or with `write`, rewrites) every block; returns the problems found. */
function walk(write: boolean): string[] {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const f of docs()) {
    const path = join(root, f);
    let text = readFileSync(path, "utf8");
    const bs = blocks(text, f);
    for (const b of [...bs].reverse()) {
      const s = sourceOf(b.id, `${f}:${b.line}`);
      used.add(s.id);
      const r = render(s, dirname(path));
      problems.push(...r.problems.map((p) => `${f}:${b.line}: ${p}`));
      if (r.body === undefined) continue;
      if (text.slice(b.start, b.end) !== r.body) {
        if (write) text = text.slice(0, b.start) + r.body + text.slice(b.end);
        else problems.push(`${f}:${b.line}: figures block ${b.id} differs from what ${s.json} renders to (npx tsx scripts/figures.ts update)`);
      }
    }
    if (write) writeFileSync(path, text);
    for (const l of unmarked(text, blocks(text, f))) {
      problems.push(`${f}:${l}: a measured figure outside any figures block (render it from a JSON source in scripts/figures.ts, or leave it out)`);
    }
  }
  for (const s of SOURCES) if (!used.has(s.id)) problems.push(`source ${s.id} (${s.json}) is shown in no README`);
  return problems;
}

function measure(ids: string[]): void {
  const rev = execFileSync("bash", [join(root, "scripts", "git-revision.sh")], { encoding: "utf8" }).trim();
  if (rev.endsWith("+changes")) throw new Error("figures measure: commit first: tracked files differ from HEAD (git status), so the figures could not be traced to a commit");
  const chosen = ids.includes("all") ? SOURCES : ids.map((id) => sourceOf(id, "figures measure"));
  for (const s of chosen) {
    process.stderr.write(`== ${s.id}: ${s.measure}\n`);
    const r = spawnSync("bash", ["-c", s.measure], { cwd: root, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`figures measure: ${s.id} failed (exit ${r.status})${s.needs ? `; it needs ${s.needs}` : ""}`);
  }
}

function main(argv: string[]): number {
  const [cmd = "check", ...rest] = argv;
  if (cmd === "-h" || cmd === "--help") {
    process.stdout.write("usage: figures.ts [check | update | measure ID...|all | list]\n");
    return 0;
  }
  if (cmd === "list") {
    for (const s of SOURCES) {
      const p = existsSync(join(root, s.json)) ? (JSON.parse(readFileSync(join(root, s.json), "utf8")) as Partial<Provenance>) : {};
      process.stdout.write(`${s.id.padEnd(14)} ${s.json.padEnd(46)} ${(p.revision ?? "-").padEnd(16)} ${p.date ?? "-"}\n    ${s.measure}${s.needs ? `\n    needs ${s.needs}` : ""}\n`);
    }
    return 0;
  }
  if (cmd === "measure") {
    if (rest.length === 0) throw new Error("figures measure: name the sources (or all)");
    measure(rest);
  } else if (cmd !== "check" && cmd !== "update") {
    process.stderr.write(`figures: unknown command ${cmd} (check, update, measure, list)\n`);
    return 2;
  }
  const problems = walk(cmd !== "check");
  for (const p of problems) process.stderr.write(`figures: ${p}\n`);
  if (problems.length > 0) return 1;
  process.stdout.write(`figures: every README figure renders from its JSON (${SOURCES.length} sources)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
