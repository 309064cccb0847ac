import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { GRID_SCALE } from '../../src/io/png.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runCli } from './run-cli.js';

/*
 * An image model's samples: the CSV holds data-space pixel intensities (MNIST: [0, 1]) and the
 * PNG grid beside it shows the same images, pixel value round(255 p) for intensity p (clipped),
 * so a black background stays black in the grid.
 */
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-image-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('sde sample of an MNIST model writes a CSV of intensities and a PNG grid of the same pixels', () => {
  const t = runCli(['train', '--data', 'mnist', '--n-data', '64', '--batch', '16', '--iters', '2', '--out', 'ckpt'], { cwd: dir });
  expect(t.code).toBe(0);
  const s = runCli(['sample', '--checkpoint', 'ckpt', '--solver', 'ddim', '--steps', '3', '--n', '4', '--out', 's.csv', '--json'], { cwd: dir });
  expect(s.code).toBe(0);
  expect(JSON.parse(s.stdout).files).toEqual(['s.csv', 's.png']);
  const rows = fs.readFileSync(path.join(dir, 's.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
  expect(rows).toHaveLength(4);
  rows.forEach((r) => expect(r).toHaveLength(784));
  const png = PNG.sync.read(fs.readFileSync(path.join(dir, 's.png')));
  // 2 x 2 tiles of 28 x 28 with a 2-pixel border, drawn z = GRID_SCALE times larger: tile k starts at
  // z (2 + 30 col, 2 + 30 row) and its pixel (i, j) covers z x z pixels from z (i, j) on.
  const z = GRID_SCALE;
  expect([png.width, png.height]).toEqual([62 * z, 62 * z]);
  let mismatches = 0;
  rows.forEach((r, k) => {
    const ox = 2 + 30 * (k % 2);
    const oy = 2 + 30 * Math.floor(k / 2);
    for (let i = 0; i < 28; i++) {
      for (let j = 0; j < 28; j++) {
        const expected = Math.round(255 * Math.min(1, Math.max(0, r[i * 28 + j])));
        for (const [a, b] of [[0, 0], [z - 1, z - 1]]) {
          const got = png.data[4 * ((z * (oy + i) + a) * png.width + z * (ox + j) + b)];
          if (Math.abs(got - expected) > 1) mismatches++;
        }
      }
    }
  });
  expect(mismatches).toBe(0);
});

test('--class 0,1,2 of a class-conditional MNIST model: a PNG grid with one row of --n images per class', () => {
  const t = runCli(['train', '--data', 'mnist', '--conditional', '--n-data', '64', '--batch', '16', '--iters', '2', '--patch', '2', '--out', 'cond'], { cwd: dir });
  expect(t.code).toBe(0);
  const s = runCli(['sample', '--checkpoint', 'cond', '--solver', 'ddim', '--steps', '3', '--n', '2', '--class', '0,1,2', '--out', 'c.csv', '--json'], { cwd: dir });
  expect(s.code).toBe(0);
  expect(JSON.parse(s.stdout)).toMatchObject({ class: [0, 1, 2], n: 2, total: 6, nfe: 9, files: ['c.csv', 'c.png'] });
  const rows = fs.readFileSync(path.join(dir, 'c.csv'), 'utf8').trim().split('\n');
  expect(rows).toHaveLength(6);
  const png = PNG.sync.read(fs.readFileSync(path.join(dir, 'c.png')));
  // 2 columns x 3 rows of 28 x 28 tiles with 2-pixel borders, drawn GRID_SCALE times larger.
  expect([png.width, png.height]).toEqual([62 * GRID_SCALE, 92 * GRID_SCALE]);
});
