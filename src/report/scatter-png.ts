import { encodePng } from '../io/png.js';

/** How a scatter plot is drawn; every field has a default. */
export interface ScatterOptions {
  /** Image size in pixels (default 640 x 640). */
  width?: number;
  height?: number;
  /** Points [m, 2] (flat: x0, y0, x1, y1, ...) drawn in grey behind the points, e.g. draws from the data. */
  reference?: ArrayLike<number>;
}

/** A rendered scatter plot: RGBA pixels, row-major, and the map from data coordinates to pixels. */
export interface ScatterImage {
  width: number;
  height: number;
  /** width x height x 4 bytes. */
  rgba: Uint8Array;
  /** Pixel column and row (row 0 at the top, y grows upwards) where the data point (x, y) is drawn. */
  project(x: number, y: number): [number, number];
}

const BACKGROUND = [255, 255, 255];
const GRID = [232, 232, 232];
const AXIS = [190, 190, 190];
const LABEL = [120, 120, 120];
const POINT = [25, 55, 130];
const REFERENCE = [150, 150, 150];
/** Quantiles that bound the view (the extreme 0.5% of either coordinate may fall outside), widened by MARGIN of the span on each side. */
const LOW_QUANTILE = 0.005;
const MARGIN = 0.08;
/** Most values sorted to find the quantiles (an even stride through larger sets). */
const QUANTILE_SAMPLE = 100_000;
/** A dot covers the pixels within DOT_HALF of its centre in both directions: 3 x 3 pixels. */
const DOT_HALF = 1;

/** 3 x 5 bitmap glyphs of tick labels: five rows of three bits, the high bit on the left. */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 1, 1], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  '-': [0, 0, 7, 0, 0], '.': [0, 0, 0, 0, 2],
};
/** Glyph pixels are drawn as GLYPH_SCALE x GLYPH_SCALE squares. */
const GLYPH_SCALE = 2;

/** The q-quantile (0 <= q <= 1) of coordinate `axis` of flat [n, 2] points, from at most QUANTILE_SAMPLE of them. */
function quantiles(points: ArrayLike<number>, axis: 0 | 1, qs: readonly number[]): number[] {
  const n = points.length / 2;
  const stride = Math.max(1, Math.ceil(n / QUANTILE_SAMPLE));
  const values = Float64Array.from({ length: Math.ceil(n / stride) }, (_, i) => points[2 * i * stride + axis]).sort();
  return qs.map((q) => values[Math.min(values.length - 1, Math.round(q * (values.length - 1)))]);
}

/**
 * The data window: for each coordinate the LOW_QUANTILE and 1 - LOW_QUANTILE quantiles of the
 * points and the reference together, widened by MARGIN; both axes then get the larger span (equal
 * scale, so shapes are not distorted), centred on their own middle. A zero span becomes 1.
 */
function dataWindow(points: ArrayLike<number>, reference: ArrayLike<number> | undefined): { x0: number; y0: number; span: number } {
  let all = points;
  if (reference && reference.length > 0) {
    const both = new Float64Array(points.length + reference.length);
    both.set(points);
    both.set(reference, points.length);
    all = both;
  }
  const [xl, xh] = quantiles(all, 0, [LOW_QUANTILE, 1 - LOW_QUANTILE]);
  const [yl, yh] = quantiles(all, 1, [LOW_QUANTILE, 1 - LOW_QUANTILE]);
  const span = Math.max(xh - xl, yh - yl) * (1 + 2 * MARGIN) || 1;
  return { x0: (xl + xh) / 2 - span / 2, y0: (yl + yh) / 2 - span / 2, span };
}

/** A round step (1, 2 or 5 times a power of ten) near span / 6: the spacing of the grid lines. */
function tickStep(span: number): number {
  const raw = span / 6;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

/** The tick value as a label with as many decimals as the step needs ("-0" written "0"). */
function tickLabel(value: number, step: number): string {
  const text = value.toFixed(Math.max(0, -Math.floor(Math.log10(step) + 1e-9)));
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text;
}

/**
 * Renders points [n, 2] (flat: x0, y0, x1, y1, ...) in data coordinates as a scatter plot: white
 * background, light grid lines at round values with tick labels, the lines x = 0 and y = 0
 * darker when in view, the reference points in grey and then the points in dark blue, each a
 * 3 x 3 dot blended with opacity min(0.85, max(0.05, 20 / sqrt(n))), so dense regions are darker.
 * The window holds all but the outer 0.5% of either coordinate, with an 8% margin, at equal
 * scale on both axes; dots outside it are clipped.
 */
export function scatterImage(points: ArrayLike<number>, options: ScatterOptions = {}): ScatterImage {
  if (points.length === 0 || points.length % 2 !== 0) throw new Error(`scatterImage: expected n >= 1 points of 2 values, got ${points.length} values`);
  const width = options.width ?? 640;
  const height = options.height ?? 640;
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) rgba.set([...BACKGROUND, 255], 4 * p);
  const { x0, y0, span } = dataWindow(points, options.reference);
  const project = (x: number, y: number): [number, number] => [Math.round(((x - x0) / span) * (width - 1)), Math.round(((y0 + span - y) / span) * (height - 1))];

  const blend = (px: number, py: number, color: readonly number[], alpha: number) => {
    if (px < 0 || py < 0 || px >= width || py >= height) return;
    const i = 4 * (py * width + px);
    for (let c = 0; c < 3; c++) rgba[i + c] = Math.round(rgba[i + c] * (1 - alpha) + color[c] * alpha);
  };
  const line = (vertical: boolean, at: number, color: readonly number[]) => {
    for (let k = 0; k < (vertical ? height : width); k++) blend(vertical ? at : k, vertical ? k : at, color, 1);
  };
  const text = (label: string, left: number, top: number) => {
    [...label].forEach((ch, k) => {
      GLYPHS[ch].forEach((bits, row) => {
        for (let col = 0; col < 3; col++) {
          if (!((bits >> (2 - col)) & 1)) continue;
          for (let s = 0; s < GLYPH_SCALE * GLYPH_SCALE; s++) blend(left + (4 * k + col) * GLYPH_SCALE + (s % GLYPH_SCALE), top + row * GLYPH_SCALE + Math.floor(s / GLYPH_SCALE), LABEL, 1);
        }
      });
    });
  };

  const step = tickStep(span);
  const labelWidth = (label: string) => (4 * label.length - 1) * GLYPH_SCALE;
  const first = (low: number) => Math.ceil(low / step);
  for (let k = first(x0); k * step <= x0 + span; k++) {
    const v = k * step;
    const [px] = project(v, 0);
    line(true, px, k === 0 ? AXIS : GRID);
    const label = tickLabel(v, step);
    const left = px - Math.floor(labelWidth(label) / 2);
    if (left >= 2 && left + labelWidth(label) < width - 2) text(label, left, height - 6 * GLYPH_SCALE);
  }
  for (let k = first(y0); k * step <= y0 + span; k++) {
    const v = k * step;
    const [, py] = project(0, v);
    line(false, py, k === 0 ? AXIS : GRID);
    const top = py - Math.floor((5 * GLYPH_SCALE) / 2);
    if (top >= 2 && top + 5 * GLYPH_SCALE < height - 7 * GLYPH_SCALE) text(tickLabel(v, step), GLYPH_SCALE, top);
  }
  for (let k = 0; k < width; k++) {
    blend(k, 0, AXIS, 1);
    blend(k, height - 1, AXIS, 1);
  }
  for (let k = 0; k < height; k++) {
    blend(0, k, AXIS, 1);
    blend(width - 1, k, AXIS, 1);
  }

  const dots = (values: ArrayLike<number>, color: readonly number[]) => {
    const alpha = Math.min(0.85, Math.max(0.05, 20 / Math.sqrt(values.length / 2)));
    for (let i = 0; i < values.length; i += 2) {
      const [cx, cy] = project(values[i], values[i + 1]);
      for (let dy = -DOT_HALF; dy <= DOT_HALF; dy++) for (let dx = -DOT_HALF; dx <= DOT_HALF; dx++) blend(cx + dx, cy + dy, color, alpha);
    }
  };
  if (options.reference && options.reference.length > 0) dots(options.reference, REFERENCE);
  dots(points, POINT);
  return { width, height, rgba, project };
}

/** scatterImage(points, options) encoded as an RGBA PNG file's bytes. */
export function scatterPng(points: ArrayLike<number>, options: ScatterOptions = {}): Buffer {
  const image = scatterImage(points, options);
  return encodePng(image.rgba, image.width, image.height, 4);
}
