/**
 * Dependency-free SVG plots for the benchmarks: a log–log chart of series of (x, y) points with
 * labelled axes, decade grid lines, a legend and an optional note. The output is a standalone SVG
 * document (XML): open it in a browser or embed it in Markdown.
 */

export interface Series {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** CSS colour. */
  color: string;
  dashed?: boolean;
  /** Draw a marker at each point (default true). */
  markers?: boolean;
}

export interface LogLogChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** A line of small text under the title (e.g. the machine and the date). */
  note?: string;
  width?: number;
  height?: number;
}

/** Escapes text for XML character data and attribute values. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));

/** A tick label for a power of ten: 1, 10, 100, 1k, 10k, 100k, 1M … and 0.1, 0.01, 0.001 below 1. */
export function decadeLabel(exp: number): string {
  if (exp < 0) return (10 ** exp).toFixed(-exp);
  const v = 10 ** exp;
  if (v >= 1e9) return `${v / 1e9}G`;
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

/** Renders the chart. Non-positive points cannot sit on a log scale and are left out. */
export function logLogSvg(chart: LogLogChart): string {
  const W = chart.width ?? 760;
  const H = chart.height ?? 500;
  const m = { left: 78, right: 24, top: chart.note ? 62 : 46, bottom: 58 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const pts = chart.series.flatMap((s) =>
    s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y)),
  );
  const xs = pts.map(([x]) => Math.log10(x));
  const ys = pts.map(([, y]) => Math.log10(y));
  const x0 = xs.length ? Math.floor(Math.min(...xs)) : 0;
  let x1 = xs.length ? Math.ceil(Math.max(...xs)) : 1;
  const y0 = ys.length ? Math.floor(Math.min(...ys)) : 0;
  let y1 = ys.length ? Math.ceil(Math.max(...ys)) : 1;
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + 1;
  const px = (x: number) => m.left + ((Math.log10(x) - x0) / (x1 - x0)) * pw;
  const py = (y: number) => m.top + ph - ((Math.log10(y) - y0) / (y1 - y0)) * ph;
  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`);
  out.push(
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`,
  );
  if (chart.note)
    out.push(
      `<text x="${W / 2}" y="42" text-anchor="middle" font-size="11" fill="#555">${escapeXml(chart.note)}</text>`,
    );
  // Grid: a line per decade, light lines at 2..9 × decade.
  out.push(`<g stroke="#e6e6e6" stroke-width="1">`);
  for (let e = x0; e < x1; e++)
    for (let k = 2; k < 10; k++)
      out.push(`<line x1="${fmt(px(k * 10 ** e))}" y1="${m.top}" x2="${fmt(px(k * 10 ** e))}" y2="${m.top + ph}"/>`);
  for (let e = y0; e < y1; e++)
    for (let k = 2; k < 10; k++)
      out.push(`<line x1="${m.left}" y1="${fmt(py(k * 10 ** e))}" x2="${m.left + pw}" y2="${fmt(py(k * 10 ** e))}"/>`);
  out.push(`</g><g stroke="#bbbbbb" stroke-width="1">`);
  for (let e = x0; e <= x1; e++)
    out.push(`<line x1="${fmt(px(10 ** e))}" y1="${m.top}" x2="${fmt(px(10 ** e))}" y2="${m.top + ph}"/>`);
  for (let e = y0; e <= y1; e++)
    out.push(`<line x1="${m.left}" y1="${fmt(py(10 ** e))}" x2="${m.left + pw}" y2="${fmt(py(10 ** e))}"/>`);
  out.push(`</g>`);
  // Axes, ticks, labels.
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<g fill="#333">`);
  for (let e = x0; e <= x1; e++)
    out.push(`<text x="${fmt(px(10 ** e))}" y="${m.top + ph + 18}" text-anchor="middle">${decadeLabel(e)}</text>`);
  for (let e = y0; e <= y1; e++)
    out.push(`<text x="${m.left - 8}" y="${fmt(py(10 ** e) + 4)}" text-anchor="end">${decadeLabel(e)}</text>`);
  out.push(`</g>`);
  out.push(
    `<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle" font-size="13">${escapeXml(chart.xLabel)}</text>`,
  );
  out.push(
    `<text x="18" y="${m.top + ph / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${m.top + ph / 2})">${escapeXml(chart.yLabel)}</text>`,
  );
  // Series.
  for (const s of chart.series) {
    const p = s.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 0) continue;
    const d = p.map(([x, y], i) => `${i ? 'L' : 'M'}${fmt(px(x))},${fmt(py(y))}`).join(' ');
    out.push(
      `<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    if (s.markers !== false)
      for (const [x, y] of p)
        out.push(`<circle cx="${fmt(px(x))}" cy="${fmt(py(y))}" r="3.5" fill="${escapeXml(s.color)}"/>`);
  }
  // Legend, top left inside the plot.
  const lh = 18;
  const lw = 14 + Math.max(...chart.series.map((s) => s.name.length), 4) * 6.6 + 30;
  out.push(
    `<g><rect x="${m.left + 10}" y="${m.top + 10}" width="${fmt(lw)}" height="${chart.series.length * lh + 10}" fill="white" fill-opacity="0.9" stroke="#999"/>`,
  );
  chart.series.forEach((s, i) => {
    const y = m.top + 10 + 14 + i * lh;
    out.push(
      `<line x1="${m.left + 18}" y1="${y - 4}" x2="${m.left + 40}" y2="${y - 4}" stroke="${escapeXml(s.color)}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${m.left + 46}" y="${y}">${escapeXml(s.name)}</text>`);
  });
  out.push(`</g></svg>`);
  return out.join('\n') + '\n';
}
