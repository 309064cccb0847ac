import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { encodePng, GRID_SCALE, imageGrid } from '../src/io/png.js';

describe('PNG writer', () => {
  test.each([1, 3, 4] as const)('pngjs reads back the exact pixels of %i channel(s)', (channels) => {
    const w = 5;
    const h = 3;
    const pixels = Uint8Array.from({ length: w * h * channels }, (_, i) => (i * 37) % 256);
    const img = PNG.sync.read(encodePng(pixels, w, h, channels));
    expect([img.width, img.height]).toEqual([w, h]);
    for (let p = 0; p < w * h; p++) {
      const rgba = channels === 1 ? [pixels[p], pixels[p], pixels[p], 255] : channels === 3 ? [...pixels.subarray(3 * p, 3 * p + 3), 255] : [...pixels.subarray(4 * p, 4 * p + 4)];
      expect([...img.data.subarray(4 * p, 4 * p + 4)]).toEqual(rgba);
    }
  });

  test('a pixel count that does not match the size is refused', () => {
    expect(() => encodePng(new Uint8Array(5), 2, 2, 1)).toThrow(/expected 4 bytes, got 5/);
  });

  test('imageGrid at scale 1 maps [-1, 1] to 0..255 and tiles images with a white border', () => {
    // Three 2x2 grey images: all -1 (black), all +1 (white) and all 0.
    const values = [-1, -1, -1, -1, 1, 1, 1, 1, 0, 0, 0, 0];
    const img = PNG.sync.read(imageGrid(values, 3, [2, 2, 1], 3, 1));
    expect([img.width, img.height]).toEqual([3 * 4 + 2, 6]);
    const grey = (x: number, y: number) => img.data[4 * (y * img.width + x)];
    expect(grey(0, 0)).toBe(255);
    expect(grey(2, 2)).toBe(0);
    expect(grey(6, 3)).toBe(255);
    expect(grey(10, 2)).toBe(128);
  });

  test(`imageGrid draws tiles at ${GRID_SCALE}x by default, each pixel a ${GRID_SCALE} x ${GRID_SCALE} block (nearest neighbour)`, () => {
    // One 2x2 RGB image: red, green / blue, black.
    const values = [1, -1, -1, -1, 1, -1, -1, -1, 1, -1, -1, -1];
    const img = PNG.sync.read(imageGrid(values, 1, [2, 2, 3]));
    const s = GRID_SCALE;
    expect([img.width, img.height]).toEqual([6 * s, 6 * s]);
    const rgb = (x: number, y: number) => [...img.data.subarray(4 * (y * img.width + x), 4 * (y * img.width + x) + 3)];
    const expected = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0]];
    for (let y = 0; y < 2 * s; y++) {
      for (let x = 0; x < 2 * s; x++) expect(rgb(2 * s + x, 2 * s + y)).toEqual(expected[2 * Math.floor(y / s) + Math.floor(x / s)]);
    }
    expect(rgb(2 * s - 1, 2 * s)).toEqual([255, 255, 255]);
  });
});
