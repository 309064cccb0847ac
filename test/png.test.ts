import { PNG } from 'pngjs';
import { describe, expect, test } from 'vitest';
import { crc32, encodePng, imageGrid } from '../src/io/png.js';

describe('PNG writer', () => {
  test('CRC-32 of "123456789" is the standard check value 0xCBF43926', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  test('an independent decoder (pngjs) reads back the exact pixels', () => {
    const w = 5;
    const h = 3;
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) % 256);
    const img = PNG.sync.read(encodePng(rgb, w, h, 3));
    expect([img.width, img.height]).toEqual([w, h]);
    for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) expect(img.data[4 * p + c]).toBe(rgb[3 * p + c]);
  });

  test('imageGrid maps [-1, 1] to 0..255 and tiles images with a white border', () => {
    // Two 2x2 grey images: all -1 (black) and all +1 (white), plus one at 0.
    const values = [-1, -1, -1, -1, 1, 1, 1, 1, 0, 0, 0, 0];
    const img = PNG.sync.read(imageGrid(values, 3, [2, 2, 1], 3));
    expect([img.width, img.height]).toEqual([3 * 4 + 2, 6]);
    const grey = (x: number, y: number) => img.data[4 * (y * img.width + x)];
    expect(grey(0, 0)).toBe(255);
    expect(grey(2, 2)).toBe(0);
    expect(grey(6, 3)).toBe(255);
    expect(grey(10, 2)).toBe(128);
  });
});
