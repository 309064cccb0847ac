import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { scatterImage, scatterPng } from '../../src/report/scatter-png.js';

/** n points of a normal cluster around (cx, cy) with std s (Box-Muller on a fixed LCG), flat [n, 2]. */
function cluster(n: number, cx: number, cy: number, s: number, seed: number): number[] {
  let state = seed;
  const uniform = () => ((state = (state * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out.push(cx + s * r * Math.cos(a), cy + s * r * Math.sin(a));
  }
  return out;
}

/** Mean of R, G, B at pixel (x, y) of a decoded PNG. */
function brightness(img: PNG, x: number, y: number): number {
  const i = 4 * (y * img.width + x);
  return (img.data[i] + img.data[i + 1] + img.data[i + 2]) / 3;
}

describe('scatter plot PNG', () => {
  const points = [...cluster(300, -3, 2, 0.3, 1), ...cluster(300, 4, -1, 0.3, 2)];

  test('decodes to 640 x 640; every point is dark where it projects, a far corner is background', () => {
    const { project } = scatterImage(points);
    const img = PNG.sync.read(scatterPng(points));
    expect([img.width, img.height]).toEqual([640, 640]);
    let inside = 0;
    for (let i = 0; i < points.length; i += 2) {
      const [x, y] = project(points[i], points[i + 1]);
      if (x < 0 || y < 0 || x >= 640 || y >= 640) continue;
      inside++;
      expect(brightness(img, x, y)).toBeLessThan(128);
    }
    // The window leaves out at most the outer 0.5% of either coordinate.
    expect(inside).toBeGreaterThanOrEqual(0.98 * 600);
    // The upper-right corner, away from both clusters, inside the frame.
    expect(brightness(img, 630, 10)).toBeGreaterThan(220);
  });

  test('two clusters give two dark regions, apart, with background between them', () => {
    const img = PNG.sync.read(scatterPng(points));
    // Dark pixels (points, not the light grid lines or labels), grouped into 4-connected regions.
    const dark = new Uint8Array(640 * 640);
    for (let y = 0; y < 640; y++) for (let x = 0; x < 640; x++) dark[y * 640 + x] = brightness(img, x, y) < 128 ? 1 : 0;
    const sizes: number[] = [];
    const seen = new Uint8Array(dark.length);
    for (let p = 0; p < dark.length; p++) {
      if (!dark[p] || seen[p]) continue;
      let size = 0;
      const stack = [p];
      seen[p] = 1;
      while (stack.length > 0) {
        const q = stack.pop() as number;
        size++;
        const x = q % 640;
        for (const r of [q - 640, q + 640, x > 0 ? q - 1 : -1, x < 639 ? q + 1 : -1]) {
          if (r >= 0 && r < dark.length && dark[r] && !seen[r]) {
            seen[r] = 1;
            stack.push(r);
          }
        }
      }
      sizes.push(size);
    }
    const big = sizes.filter((s) => s > 500);
    expect(big).toHaveLength(2);
    const { project } = scatterImage(points);
    const [mx, my] = project(0.5, 0.5);
    expect(brightness(img, mx, my)).toBeGreaterThan(200);
  });

  test('reference points are grey, drawn behind; the window covers them too', () => {
    const reference = cluster(200, 10, 10, 0.3, 3);
    const { project, rgba, width } = scatterImage(points, { reference, width: 400, height: 300 });
    expect(rgba).toHaveLength(400 * 300 * 4);
    const [x, y] = project(10, 10);
    expect(x).toBeLessThan(400);
    expect(y).toBeGreaterThanOrEqual(0);
    const i = 4 * (y * width + x);
    const [r, g, b] = rgba.subarray(i, i + 3);
    // Grey: the channels are equal and darker than the background.
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(r).toBeLessThan(200);
  });

  test('no points or an odd number of values is refused', () => {
    expect(() => scatterImage([])).toThrow(/2 values/);
    expect(() => scatterImage([1, 2, 3])).toThrow(/2 values/);
  });
});
