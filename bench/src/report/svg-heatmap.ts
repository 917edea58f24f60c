/**
 * A small SVG heatmap writer: a grid of cells with a diverging colour scale around 1 (blue where
 * the ratio is above 1, red below) and the value printed in each cell.
 */

export interface HeatmapSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  yLabel: string;
  xs: number[];
  ys: number[];
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  /** value at (x, y), undefined when not measured */
  value: (x: number, y: number) => number | undefined;
  /** legend line */
  legend: string;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** log2 ratio in [-2, 2] mapped to red .. white .. blue */
function color(v: number): string {
  const t = Math.max(-1, Math.min(1, Math.log2(v) / 2));
  const mix = (a: number, b: number, f: number) => Math.round(a + (b - a) * f);
  const [r, g, b] = t >= 0 ? [mix(255, 49, t), mix(255, 130, t), mix(255, 189, t)] : [mix(255, 214, -t), mix(255, 39, -t), mix(255, 40, -t)];
  return `rgb(${r},${g},${b})`;
}

export function heatmap(spec: HeatmapSpec): string {
  const cw = 64;
  const ch = 34;
  const left = 80;
  const top = 64;
  const w = left + spec.xs.length * cw + 30;
  const h = top + spec.ys.length * ch + 70;
  const fx = spec.xFormat ?? String;
  const fy = spec.yFormat ?? String;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${w}" height="${h}" fill="white"/>`);
  o.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(spec.title)}</text>`);
  if (spec.subtitle) o.push(`<text x="${left}" y="40" fill="#555">${esc(spec.subtitle)}</text>`);
  spec.ys.forEach((y, j) => {
    // largest y at the top
    const py = top + (spec.ys.length - 1 - j) * ch;
    o.push(`<text x="${left - 8}" y="${py + ch / 2 + 4}" text-anchor="end">${esc(fy(y))}</text>`);
    spec.xs.forEach((x, i) => {
      const px = left + i * cw;
      const v = spec.value(x, y);
      if (v === undefined) {
        o.push(`<rect x="${px}" y="${py}" width="${cw}" height="${ch}" fill="#f3f3f3" stroke="white"/>`);
        return;
      }
      o.push(`<rect x="${px}" y="${py}" width="${cw}" height="${ch}" fill="${color(v)}" stroke="white"/>`);
      o.push(`<text x="${px + cw / 2}" y="${py + ch / 2 + 4}" text-anchor="middle">${v.toFixed(2)}</text>`);
    });
  });
  const by = top + spec.ys.length * ch;
  spec.xs.forEach((x, i) => o.push(`<text x="${left + i * cw + cw / 2}" y="${by + 16}" text-anchor="middle">${esc(fx(x))}</text>`));
  o.push(`<text x="${left + (spec.xs.length * cw) / 2}" y="${by + 36}" text-anchor="middle">${esc(spec.xLabel)}</text>`);
  o.push(`<text transform="translate(18 ${top + (spec.ys.length * ch) / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  o.push(`<text x="${left}" y="${by + 58}" fill="#555">${esc(spec.legend)}</text>`);
  o.push("</svg>");
  return o.join("\n") + "\n";
}
