/**
 * A minimal SVG line-chart writer for the soak report: stacked panels sharing a time axis. No chart library on
 * npm renders SVG without a DOM at this size, and this needs only lines, axes and labels.
 */
export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

export interface Panel {
  title: string;
  unit: string;
  series: Series[];
  /** Shade the x range (the plateau check's window), e.g. [from, to]. */
  shade?: [number, number];
}

const W = 760;
const PANEL_H = 150;
const PAD = { left: 60, right: 20, top: 26, bottom: 24 };

const esc = (s: string) => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A round step giving about `n` ticks over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / Math.max(1, n);
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

function panel(p: Panel, y0: number, xMax: number): string {
  const all = p.series.flatMap((s) => s.points.map(([, y]) => y));
  const yMax = Math.max(1e-9, ...all) * 1.1;
  const iw = W - PAD.left - PAD.right;
  const ih = PANEL_H - PAD.top - PAD.bottom;
  const x = (v: number) => PAD.left + (v / (xMax || 1)) * iw;
  const y = (v: number) => y0 + PAD.top + ih - (v / yMax) * ih;
  const out: string[] = [];
  out.push(`<text x="${PAD.left}" y="${y0 + 16}" font-size="13" font-weight="bold">${esc(p.title)} (${esc(p.unit)})</text>`);
  if (p.shade) out.push(`<rect x="${x(p.shade[0])}" y="${y0 + PAD.top}" width="${x(p.shade[1]) - x(p.shade[0])}" height="${ih}" fill="#f3f0d8"/>`);
  const yStep = niceStep(yMax, 4);
  for (let v = 0; v <= yMax; v += yStep) {
    out.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${PAD.left - 6}" y="${y(v) + 4}" font-size="10" text-anchor="end">${+v.toFixed(3)}</text>`);
  }
  const xStep = niceStep(xMax, 8);
  for (let v = 0; v <= xMax; v += xStep) {
    out.push(`<text x="${x(v)}" y="${y0 + PANEL_H - 8}" font-size="10" text-anchor="middle">${+v.toFixed(1)}s</text>`);
  }
  out.push(`<rect x="${PAD.left}" y="${y0 + PAD.top}" width="${iw}" height="${ih}" fill="none" stroke="#888"/>`);
  p.series.forEach((s, i) => {
    const d = s.points.map(([a, b], j) => `${j ? 'L' : 'M'}${x(a).toFixed(1)},${y(b).toFixed(1)}`).join('');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"/>`);
    out.push(`<text x="${W - PAD.right - 4}" y="${y0 + 16 + i * 12}" font-size="10" text-anchor="end" fill="${s.color}">${esc(s.name)}</text>`);
  });
  return out.join('\n');
}

export function stackedChart(panels: Panel[], title: string): string {
  const xMax = Math.max(0, ...panels.flatMap((p) => p.series.flatMap((s) => s.points.map(([x]) => x))));
  const h = 30 + panels.length * PANEL_H;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif">`,
    `<rect width="${W}" height="${h}" fill="white"/>`,
    `<text x="${W / 2}" y="20" font-size="15" text-anchor="middle">${esc(title)}</text>`,
    ...panels.map((p, i) => panel(p, 30 + i * PANEL_H, xMax)),
    '</svg>',
    '',
  ].join('\n');
}
