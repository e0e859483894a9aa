// Line plots as SVG text, with no dependencies: training curves, SNR against remaining weights,
// and original-versus-reconstruction windows.
//
// The output is a pure function of the input (fixed number formatting, no ids, no dates), so a
// report can be diffed and a test can compare bytes. Points that are NaN or infinite (or <= 0 on
// a log axis) are skipped and leave a gap: a diverged epoch shows as a break, not as a spike to
// the edge of the plot.

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  dashed?: boolean;
  /** Any SVG colour; default: the next one of a fixed palette. */
  color?: string;
  /** A dot at every point (where the data were measured, e.g. a sweep's grid). */
  markers?: boolean;
}

/** A horizontal reference line across the plot, e.g. a target SNR. */
export interface HLine {
  y: number;
  label?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel?: string;
  yLabel?: string;
  series: Series[];
  /** Pixels (default 640 x 400). */
  width?: number;
  height?: number;
  /** Log-10 x axis with a tick at every decade, e.g. for "remaining weights (%)". */
  logX?: boolean;
  /** Larger x on the left, e.g. remaining weights falling from 100% as pruning goes on. */
  reverseX?: boolean;
  hLines?: HLine[];
  /** The x range to draw, widened to the data if they go beyond it (default: the data's). */
  xDomain?: [number, number];
}

export interface WindowPlot {
  original: ArrayLike<number>;
  reconstruction: ArrayLike<number>;
  /** Shown above the window, e.g. "record 2, window 17, SNR 31.2 dB". */
  label?: string;
}

export interface WindowsChartOptions {
  title: string;
  windows: WindowPlot[];
  /** Sampling rate (Hz): x in seconds; without it, x in samples. */
  fs?: number;
  /** Windows per row (default: up to 3). */
  columns?: number;
  /** Pixels (default 900 wide, 170 per row of windows). */
  width?: number;
  rowHeight?: number;
  /** The y axis, e.g. "mV" or "normalised" (default: none shown). */
  yLabel?: string;
}

// Tableau 10: distinct in colour and in lightness, so lines stay apart in grey print too.
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const DASH = '6 4';
const GRID = '#e6e6e6';
const INK = '#333';
const FONT = 11;
// Average width of a sans-serif character per unit of font size: text cannot be measured
// without a renderer, so margins are sized from character counts.
const CHAR_EM = 0.6;

/** Text content or attribute value with &, <, >, " and ' escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A coordinate: at most 2 decimals, no trailing zeros, never "-0" (same number, same bytes). */
export function fmt(v: number): string {
  let s = v.toFixed(2);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

export interface Tick {
  value: number;
  /** Absent for minor ticks (a grid line or mark only). */
  label?: string;
}

/** An axis: the data range [lo, hi] mapped onto pixels, and its ticks. */
export interface Axis {
  lo: number;
  hi: number;
  log: boolean;
  ticks: Tick[];
}

/** The 1-2-5 step nearest to `rough` (e.g. 0.37 -> 0.5, 180 -> 200). */
export function niceStep(rough: number): number {
  const mag = Number(`1e${Math.floor(Math.log10(rough))}`);
  const f = rough / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

function tickLabel(v: number, step: number, big: number): string {
  // Exponents for very large or very fine scales, where fixed decimals get long.
  if (big >= 1e6 || step < 1e-4) {
    // As many significant digits as the step resolves: 1.5e+6 on a 5e+5 step.
    return v === 0 ? '0' : v.toExponential(Math.max(0, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - Math.floor(Math.log10(step) + 1e-9)));
  }
  const s = v.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

/**
 * A linear axis over [min, max] with about `target` ticks at multiples of a 1-2-5 step. With
 * `extend`, the range grows out to the ticks on either side (for y: the data never touches the
 * frame between ticks); otherwise it stays the data range and only the ticks inside it are kept.
 */
export function linearAxis(min: number, max: number, target = 5, extend = true): Axis {
  if (!(Number.isFinite(min) && Number.isFinite(max))) [min, max] = [0, 1];
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    // A flat line still needs a scale: one either side of it.
    const d = min === 0 ? 1 : Math.abs(min) * 0.1;
    [min, max] = [min - d, max + d];
  }
  const step = niceStep((max - min) / target);
  // 1e-9 of a step: a bound that is a multiple of the step up to rounding counts as one.
  const i0 = extend ? Math.floor(min / step + 1e-9) : Math.ceil(min / step - 1e-9);
  const i1 = extend ? Math.ceil(max / step - 1e-9) : Math.floor(max / step + 1e-9);
  const big = Math.max(Math.abs(i0 * step), Math.abs(i1 * step));
  const ticks: Tick[] = [];
  for (let i = i0; i <= i1; i++) ticks.push({ value: i * step, label: tickLabel(i * step, step, big) });
  return extend ? { lo: i0 * step, hi: i1 * step, log: false, ticks } : { lo: min, hi: max, log: false, ticks };
}

function decadeLabel(e: number): string {
  if (e >= 0 && e <= 6) return `1${'0'.repeat(e)}`;
  if (e < 0 && e >= -4) return `0.${'0'.repeat(-e - 1)}1`;
  return `1e${e}`;
}

/**
 * A log-10 axis over [min, max] (both > 0): labelled ticks at the decades inside it, minor ticks
 * at 2..9 times a decade. When fewer than two decades fall inside, 2x and 5x are labelled too,
 * so that a narrow range still reads.
 */
export function logAxis(min: number, max: number): Axis {
  if (!(min > 0 && max > 0 && Number.isFinite(min) && Number.isFinite(max))) [min, max] = [1, 100];
  if (min > max) [min, max] = [max, min];
  if (min === max) [min, max] = [min / 2, max * 2];
  const e0 = Math.floor(Math.log10(min) + 1e-9);
  const e1 = Math.ceil(Math.log10(max) - 1e-9);
  // Tolerance of 1e-9 relative: 0.1 read from a float32 array is 0.10000000149..., still a decade.
  const inside = (v: number) => v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9);
  const decades = [];
  for (let e = e0; e <= e1; e++) if (inside(Number(`1e${e}`))) decades.push(e);
  const few = decades.length < 2;
  // Beyond about 8 decades the labels would crowd: label every other (or third...) one.
  const stride = Math.max(1, Math.ceil(decades.length / 8));
  const ticks: Tick[] = [];
  for (let e = e0; e <= e1; e++) {
    for (let k = 1; k <= 9; k++) {
      const v = k * Number(`1e${e}`);
      if (!inside(v)) continue;
      if (k === 1) ticks.push((e - e0) % stride === 0 ? { value: v, label: decadeLabel(e) } : { value: v });
      else if (few && (k === 2 || k === 5)) ticks.push({ value: v, label: fmt(Number(v.toPrecision(1))) });
      else ticks.push({ value: v });
    }
  }
  return { lo: min, hi: max, log: true, ticks };
}

/** Where value v falls on an axis drawn from pixel `from` (at lo) to pixel `to` (at hi). */
export function toPixel(axis: Axis, v: number, from: number, to: number): number {
  const t = axis.log
    ? (Math.log10(v) - Math.log10(axis.lo)) / (Math.log10(axis.hi) - Math.log10(axis.lo))
    : (v - axis.lo) / (axis.hi - axis.lo);
  return from + t * (to - from);
}

interface Rect { x: number; y: number; w: number; h: number }

const usable = (x: number, y: number, logX: boolean) => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0);

function checkLengths(what: string, x: ArrayLike<number>, y: ArrayLike<number>): void {
  if (x.length !== y.length) throw new RangeError(`${what}: x has ${x.length} values but y has ${y.length}`);
}

/** The range of the usable points of all series (NaN, NaN when there are none). */
function extent(series: Array<Pick<Series, 'x' | 'y'>>, logX: boolean): { x: [number, number]; y: [number, number] } {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of series) {
    for (let i = 0; i < s.x.length; i++) {
      const x = s.x[i]!, y = s.y[i]!;
      if (!usable(x, y, logX)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x);
      y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
  }
  return x0 <= x1 ? { x: [x0, x1], y: [y0, y1] } : { x: [NaN, NaN], y: [NaN, NaN] };
}

/** Pixel positions of a series' points, null for a point that cannot be drawn (a gap). */
function* pixels(x: ArrayLike<number>, y: ArrayLike<number>, xa: Axis, ya: Axis, r: Rect, reverseX: boolean): Generator<[number, number] | null> {
  for (let i = 0; i < x.length; i++) {
    const xv = x[i]!, yv = y[i]!;
    if (!usable(xv, yv, xa.log)) { yield null; continue; }
    yield [toPixel(xa, xv, reverseX ? r.x + r.w : r.x, reverseX ? r.x : r.x + r.w), toPixel(ya, yv, r.y + r.h, r.y)];
  }
}

/**
 * The path data for one series: "M" starts a run of usable points, "L" continues it; a skipped
 * point ends the run. A run of a single point gets "h0", which round caps draw as a dot.
 */
function pathData(x: ArrayLike<number>, y: ArrayLike<number>, xa: Axis, ya: Axis, r: Rect, reverseX: boolean): string {
  const parts: string[] = [];
  let run = 0;
  const endRun = () => { if (run === 1) parts.push('h0'); run = 0; };
  for (const p of pixels(x, y, xa, ya, r, reverseX)) {
    if (!p) { endRun(); continue; }
    parts.push(`${run === 0 ? 'M' : 'L'}${fmt(p[0])} ${fmt(p[1])}`);
    run++;
  }
  endRun();
  return parts.join('');
}

const textWidth = (text: string, size: number) => text.length * size * CHAR_EM;

function truncate(text: string, width: number, size: number): string {
  const max = Math.max(1, Math.floor(width / (size * CHAR_EM) + 1e-9)); // 21.6 / 7.2 must give 3, not 2.99..
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${fmt(x)}" y="${fmt(y)}"${attrs ? ` ${attrs}` : ''}>${escapeXml(content)}</text>`;
}

/** Grid lines, frame, tick marks and tick labels of one plot area. */
function axes(r: Rect, xa: Axis, ya: Axis, reverseX: boolean, size: number): string[] {
  const out: string[] = [];
  const xp = (v: number) => toPixel(xa, v, reverseX ? r.x + r.w : r.x, reverseX ? r.x : r.x + r.w);
  const yp = (v: number) => toPixel(ya, v, r.y + r.h, r.y);
  const bottom = r.y + r.h;
  const grid: string[] = [];
  for (const t of xa.ticks) {
    const x = fmt(xp(t.value));
    grid.push(`<line x1="${x}" y1="${fmt(r.y)}" x2="${x}" y2="${fmt(bottom)}"${t.label === undefined ? ' stroke-opacity="0.5"' : ''}/>`);
  }
  for (const t of ya.ticks) {
    const y = fmt(yp(t.value));
    grid.push(`<line x1="${fmt(r.x)}" y1="${y}" x2="${fmt(r.x + r.w)}" y2="${y}"${t.label === undefined ? ' stroke-opacity="0.5"' : ''}/>`);
  }
  out.push(`<g class="grid" stroke="${GRID}" stroke-width="1">${grid.join('')}</g>`);
  out.push(`<rect class="frame" x="${fmt(r.x)}" y="${fmt(r.y)}" width="${fmt(r.w)}" height="${fmt(r.h)}" fill="none" stroke="${INK}" stroke-width="1"/>`);
  const marks: string[] = [];
  const labels: string[] = [];
  for (const t of xa.ticks) {
    const x = xp(t.value);
    marks.push(`<line x1="${fmt(x)}" y1="${fmt(bottom)}" x2="${fmt(x)}" y2="${fmt(bottom + (t.label === undefined ? 3 : 5))}"/>`);
    if (t.label !== undefined) labels.push(text(x, bottom + 7 + size, t.label, 'class="xtick" text-anchor="middle"'));
  }
  for (const t of ya.ticks) {
    const y = yp(t.value);
    marks.push(`<line x1="${fmt(r.x - 5)}" y1="${fmt(y)}" x2="${fmt(r.x)}" y2="${fmt(y)}"/>`);
    if (t.label !== undefined) labels.push(text(r.x - 8, y + size * 0.35, t.label, 'class="ytick" text-anchor="end"'));
  }
  out.push(`<g stroke="${INK}" stroke-width="1">${marks.join('')}</g>`);
  out.push(`<g fill="${INK}" font-size="${size}">${labels.join('')}</g>`);
  return out;
}

function svgOpen(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${fmt(width)}" height="${fmt(height)}" viewBox="0 0 ${fmt(width)} ${fmt(height)}" font-family="Helvetica, Arial, sans-serif" font-size="${FONT}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${fmt(width)}" height="${fmt(height)}" fill="#fff"/>`,
  ];
}

/** A line chart of one or more series, with a legend on the right. */
export function lineChart(options: LineChartOptions): string {
  const { title, xLabel = '', yLabel = '', series, width = 640, height = 400, logX = false, reverseX = false, hLines = [], xDomain } = options;
  series.forEach((s) => checkLengths(`series '${s.name}'`, s.x, s.y));
  const ext = extent(series, logX);
  if (xDomain) ext.x = Number.isNaN(ext.x[0]) ? xDomain : [Math.min(xDomain[0], ext.x[0]), Math.max(xDomain[1], ext.x[1])];
  const xa = logX ? logAxis(ext.x[0], ext.x[1]) : linearAxis(ext.x[0], ext.x[1], 6, false);
  const hys = hLines.map((h) => h.y).filter(Number.isFinite);
  const yData = Number.isNaN(ext.y[0]) ? [] : ext.y;
  const ys = [...yData, ...hys];
  const ya = ys.length > 0 ? linearAxis(Math.min(...ys), Math.max(...ys), 6, true) : linearAxis(0, 1, 6, true);

  // Margins from the text they hold: y tick labels and the rotated y label on the left, the
  // legend (capped at a third of the width) on the right.
  const yTickWidth = Math.max(...ya.ticks.map((t) => textWidth(t.label ?? '', FONT)));
  const left = 12 + (yLabel ? 18 : 0) + yTickWidth + 10;
  const legendText = Math.max(0, ...series.map((s) => textWidth(s.name, 12)));
  const legendWidth = series.length > 0 ? Math.min(44 + legendText, width / 3) : 0;
  const right = 16 + legendWidth;
  const top = title ? 40 : 14;
  const bottom = 26 + (xLabel ? 20 : 0);
  const r: Rect = { x: left, y: top, w: Math.max(width - left - right, 10), h: Math.max(height - top - bottom, 10) };

  const out = svgOpen(width, height, title);
  if (title) out.push(text(width / 2, 24, title, 'class="title" text-anchor="middle" font-size="15" font-weight="bold" fill="#111"'));
  out.push(...axes(r, xa, ya, reverseX, FONT));
  if (xLabel) out.push(text(r.x + r.w / 2, height - 10, xLabel, 'class="xlabel" text-anchor="middle" font-size="12" fill="#111"'));
  if (yLabel) {
    const cy = r.y + r.h / 2;
    out.push(text(16, cy, yLabel, `class="ylabel" text-anchor="middle" font-size="12" fill="#111" transform="rotate(-90 16 ${fmt(cy)})"`));
  }

  for (const h of hLines) {
    if (!Number.isFinite(h.y)) continue;
    const y = toPixel(ya, h.y, r.y + r.h, r.y);
    out.push(`<line class="hline" x1="${fmt(r.x)}" y1="${fmt(y)}" x2="${fmt(r.x + r.w)}" y2="${fmt(y)}" stroke="#555" stroke-width="1" stroke-dasharray="2 3"/>`);
    if (h.label) out.push(text(r.x + r.w - 4, y - 4, h.label, 'class="hline-label" text-anchor="end" fill="#555"'));
  }

  const paths = series.map((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const dash = s.dashed ? ` stroke-dasharray="${DASH}"` : '';
    return `<path class="series" d="${pathData(s.x, s.y, xa, ya, r, reverseX)}" fill="none" stroke="${escapeXml(color)}" stroke-width="1.75" stroke-linejoin="round" stroke-linecap="round"${dash}/>`;
  });
  out.push(`<g class="lines">${paths.join('')}</g>`);
  const dots = series.flatMap((s, i) => (s.markers ? [...pixels(s.x, s.y, xa, ya, r, reverseX)] : [])
    .filter((p): p is [number, number] => p !== null)
    .map(([px, py]) => `<circle cx="${fmt(px)}" cy="${fmt(py)}" r="2.75" fill="${escapeXml(s.color ?? PALETTE[i % PALETTE.length]!)}"/>`));
  if (dots.length > 0) out.push(`<g class="markers">${dots.join('')}</g>`);

  if (series.length > 0) {
    const lx = r.x + r.w + 16;
    const items = series.map((s, i) => {
      const y = r.y + 8 + i * 18;
      const color = s.color ?? PALETTE[i % PALETTE.length]!;
      const dash = s.dashed ? ` stroke-dasharray="${DASH}"` : '';
      return `<line x1="${fmt(lx)}" y1="${fmt(y)}" x2="${fmt(lx + 28)}" y2="${fmt(y)}" stroke="${escapeXml(color)}" stroke-width="1.75"${dash}/>`
        + text(lx + 34, y + 4, truncate(s.name, legendWidth - 44, 12), 'font-size="12" fill="#111"');
    });
    out.push(`<g class="legend">${items.join('')}</g>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const ORIGINAL = { color: '#222', width: 1.25 };
const RECONSTRUCTION = { color: '#d62728', width: 1.25, dash: '4 2' };

/**
 * Small multiples: each window's original (solid, dark) under its reconstruction (dashed, red),
 * with its own y scale and its label above it; one legend for all.
 */
export function windowsChart(options: WindowsChartOptions): string {
  const { title, windows, fs, width = 900, rowHeight = 170, yLabel = '' } = options;
  const columns = Math.max(1, Math.min(options.columns ?? 3, Math.max(windows.length, 1)));
  const rows = Math.ceil(windows.length / columns);
  const top = 58;
  const bottom = 34;
  const pad = 10;
  const left = pad + (yLabel ? 18 : 0);
  const height = top + rows * rowHeight + bottom;
  const cellW = (width - left - pad) / columns;

  const out = svgOpen(width, height, title);
  out.push(text(width / 2, 24, title, 'class="title" text-anchor="middle" font-size="15" font-weight="bold" fill="#111"'));
  // The legend, centred under the title.
  const lx = width / 2 - 110;
  out.push(`<g class="legend" font-size="12" fill="#111">`
    + `<line x1="${fmt(lx)}" y1="42" x2="${fmt(lx + 28)}" y2="42" stroke="${ORIGINAL.color}" stroke-width="${ORIGINAL.width}"/>`
    + text(lx + 34, 46, 'original')
    + `<line x1="${fmt(lx + 110)}" y1="42" x2="${fmt(lx + 138)}" y2="42" stroke="${RECONSTRUCTION.color}" stroke-width="${RECONSTRUCTION.width}" stroke-dasharray="${RECONSTRUCTION.dash}"/>`
    + text(lx + 144, 46, 'reconstruction')
    + '</g>');

  windows.forEach((w, i) => {
    if (w.original.length !== w.reconstruction.length) {
      throw new RangeError(`window ${i}: original has ${w.original.length} samples but the reconstruction has ${w.reconstruction.length}`);
    }
    const n = w.original.length;
    const xs = Float64Array.from({ length: n }, (_, k) => (fs ? k / fs : k));
    const ext = extent([{ x: xs, y: w.original }, { x: xs, y: w.reconstruction }], false);
    const xa = linearAxis(0, Math.max(n - 1, 1) / (fs ?? 1), 4, false);
    const ya = linearAxis(ext.y[0], ext.y[1], 3, true);
    const yTickWidth = Math.max(...ya.ticks.map((t) => textWidth(t.label ?? '', 10)));
    const cx = left + (i % columns) * cellW;
    const cy = top + Math.floor(i / columns) * rowHeight;
    const r: Rect = { x: cx + yTickWidth + 14, y: cy + 18, w: cellW - yTickWidth - 24, h: rowHeight - 18 - 24 };
    out.push(`<g class="window">`);
    if (w.label) out.push(text(r.x + r.w / 2, cy + 12, truncate(w.label, r.w, 11), 'class="window-label" text-anchor="middle" fill="#111"'));
    out.push(...axes(r, xa, ya, false, 10));
    out.push(`<path class="original" d="${pathData(xs, w.original, xa, ya, r, false)}" fill="none" stroke="${ORIGINAL.color}" stroke-width="${ORIGINAL.width}" stroke-linejoin="round" stroke-linecap="round"/>`);
    out.push(`<path class="reconstruction" d="${pathData(xs, w.reconstruction, xa, ya, r, false)}" fill="none" stroke="${RECONSTRUCTION.color}" stroke-width="${RECONSTRUCTION.width}" stroke-linejoin="round" stroke-dasharray="${RECONSTRUCTION.dash}"/>`);
    out.push('</g>');
  });

  const xLabel = fs ? 'time (s)' : 'sample';
  out.push(text(width / 2, height - 8, xLabel, 'class="xlabel" text-anchor="middle" font-size="12" fill="#111"'));
  if (yLabel) {
    const cy = top + (rows * rowHeight) / 2;
    out.push(text(16, cy, yLabel, `class="ylabel" text-anchor="middle" font-size="12" fill="#111" transform="rotate(-90 16 ${fmt(cy)})"`));
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
