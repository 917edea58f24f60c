/**
 * A small SVG line-chart writer (no plotting dependencies): linear or log axes, one polyline with
 * markers per series, ticks at powers of ten (or of two) on log axes, a legend. Output is a
 * self-contained SVG string.
 */

export interface Series {
  name: string;
  points: [number, number][];
  /** dashed line (used for a second figure of the same library) */
  dashed?: boolean;
  /** CSS colour; default: the palette, in series order */
  color?: string;
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  /** tick labels */
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  /** base of log ticks on the x axis (10 or 2) */
  xLogBase?: number;
  series: Series[];
}

const W = 760;
const H = 460;
const M = { left: 78, right: 190, top: 54, bottom: 56 };
const COLORS = ["#d62728", "#ff7f0e", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

interface Axis {
  map: (v: number) => number;
  ticks: number[];
}

function axis(values: number[], log: boolean, lo: number, hi: number, base: number): Axis {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (log) {
    min = Math.max(min, Number.MIN_VALUE);
    const b = Math.log(base);
    let a0 = Math.floor(Math.log(min) / b + 1e-9);
    let a1 = Math.ceil(Math.log(max) / b - 1e-9);
    if (a1 === a0) a1++;
    // with base 2 keep at most ~12 ticks
    const step = Math.max(1, Math.ceil((a1 - a0) / 12));
    const ticks: number[] = [];
    for (let e = a0; e <= a1; e += step) ticks.push(base ** e);
    a0 = Math.log(ticks[0]!) / b;
    a1 = Math.max(a1, Math.log(ticks[ticks.length - 1]!) / b);
    return { map: (v) => lo + ((Math.log(v) / b - a0) / (a1 - a0)) * (hi - lo), ticks };
  }
  if (min > 0) min = 0;
  if (max === min) max = min + 1;
  const raw = (max - min) / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * mag).find((s) => s >= raw)!;
  const t0 = Math.floor(min / step) * step;
  const t1 = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = t0; v <= t1 + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return { map: (v) => lo + ((v - t0) / (t1 - t0)) * (hi - lo), ticks };
}

export function lineChart(spec: ChartSpec): string {
  const pts = spec.series.flatMap((s) => s.points);
  const x = axis(pts.map((p) => p[0]), spec.xLog === true, M.left, W - M.right, spec.xLogBase ?? 10);
  const y = axis(pts.map((p) => p[1]), spec.yLog === true, H - M.bottom, M.top, 10);
  const fx = spec.xFormat ?? ((v: number) => String(v));
  const fy = spec.yFormat ?? ((v: number) => String(v));
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  o.push(`<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  if (spec.subtitle) o.push(`<text x="${M.left}" y="40" fill="#555">${esc(spec.subtitle)}</text>`);
  // grid and ticks
  for (const t of x.ticks) {
    const px = x.map(t).toFixed(1);
    o.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${H - M.bottom}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${px}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(fx(t))}</text>`);
  }
  for (const t of y.ticks) {
    const py = y.map(t).toFixed(1);
    o.push(`<line x1="${M.left}" y1="${py}" x2="${W - M.right}" y2="${py}" stroke="#e5e5e5"/>`);
    o.push(`<text x="${M.left - 6}" y="${(+py + 4).toFixed(1)}" text-anchor="end">${esc(fy(t))}</text>`);
  }
  o.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#333"/>`);
  o.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  o.push(`<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  // series
  spec.series.forEach((s, i) => {
    const c = s.color ?? COLORS[i % COLORS.length]!;
    const p = s.points.map(([a, b]) => `${x.map(a).toFixed(1)},${y.map(b).toFixed(1)}`);
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    o.push(`<polyline points="${p.join(" ")}" fill="none" stroke="${c}" stroke-width="2"${dash}/>`);
    for (const q of p) {
      const [cx, cy] = q.split(",");
      o.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${c}"/>`);
    }
    const ly = M.top + 10 + i * 20;
    o.push(`<line x1="${W - M.right + 14}" y1="${ly}" x2="${W - M.right + 38}" y2="${ly}" stroke="${c}" stroke-width="2"${dash}/>`);
    o.push(`<text x="${W - M.right + 44}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  o.push(`</svg>`);
  return o.join("\n") + "\n";
}
