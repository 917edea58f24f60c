/**
 * A progress display on stderr, so stdout stays the report: on a terminal one line rewritten in
 * place (step, percentage, elapsed, estimated remaining); elsewhere one line per step.
 */
import { performance } from "node:perf_hooks";

export class Progress {
  private readonly t0 = performance.now();
  private done = 0;
  private readonly tty = process.stderr.isTTY === true;

  /** @param total units of work (weights of all steps) */
  constructor(private readonly total: number, private readonly title: string) {}

  /** Announces the step about to run. */
  step(label: string): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    const frac = this.total > 0 ? this.done / this.total : 0;
    const eta = frac > 0.02 ? elapsed / frac - elapsed : NaN;
    const pct = `${Math.floor(frac * 100)}%`.padStart(4);
    const line = `${this.title} ${pct}  ${elapsed.toFixed(0)}s elapsed${Number.isNaN(eta) ? "" : `, ~${eta.toFixed(0)}s left`}  ${label}`;
    if (this.tty) process.stderr.write(`\r\x1b[K${line.slice(0, (process.stderr.columns ?? 120) - 1)}`);
    else process.stderr.write(line + "\n");
  }

  /** Marks `weight` units as done. */
  advance(weight = 1): void {
    this.done += weight;
  }

  finish(): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    const line = `${this.title} done in ${elapsed.toFixed(1)}s`;
    process.stderr.write(this.tty ? `\r\x1b[K${line}\n` : line + "\n");
  }
}
