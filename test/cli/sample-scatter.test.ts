import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

/* `sde sample --out FILE.png` of 2-D samples: a scatter plot; other vector sizes: refused. */
let dir: string;
const MIX = { weights: [0.5, 0.5], means: [[-3, 0], [3, 0]], stds: [0.3, 0.3] };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-scatter-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
  fs.writeFileSync(path.join(dir, 'mix3.json'), JSON.stringify({ weights: [0.5, 0.5], means: [[0, 0, 0], [1, 1, 1]], stds: [1, 1] }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('--out s.png of a 2-D mixture writes a scatter plot PNG (no CSV), dark over both components', () => {
  const r = runCli(['sample', '--oracle', 'mix.json', '--solver', 'euler-maruyama', '--steps', '100', '--n', '2000', '--out', 's.png', '--json'], { cwd: dir });
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ n: 2000, out: 's.png', files: ['s.png'] });
  expect(fs.readdirSync(dir).sort()).toEqual(['mix.json', 'mix3.json', 's.png']);
  const img = PNG.sync.read(fs.readFileSync(path.join(dir, 's.png')));
  expect([img.width, img.height]).toEqual([640, 640]);
  const darkest = (x0: number, x1: number) => {
    let low = 255;
    for (let y = 0; y < img.height; y++) for (let x = x0; x < x1; x++) low = Math.min(low, img.data[4 * (y * img.width + x)]);
    return low;
  };
  // The components lie left and right of the centre, which stays empty.
  expect(darkest(0, 280)).toBeLessThan(100);
  expect(darkest(360, 640)).toBeLessThan(100);
  expect(darkest(315, 325)).toBeGreaterThan(100);
});

test('--out x.png of 3-D samples: one line naming --out, exit 2, no file written', () => {
  const before = fs.readdirSync(dir).sort();
  const r = runCli(['sample', '--oracle', 'mix3.json', '--solver', 'ddpm', '--out', 'x.png'], { cwd: dir });
  expect(r.code).toBe(2);
  const lines = errorLines(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/--out: a \.png is a scatter plot of samples of 2 values or a grid of images; .* gives vectors of 3 values, use a \.csv file/);
  expect(fs.readdirSync(dir).sort()).toEqual(before);
});
