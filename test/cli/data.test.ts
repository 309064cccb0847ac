import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-data-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const rows = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));

describe('sde data', () => {
  test('moons: the closed-form mean and variance of the generator, seeded', () => {
    const n = 20000;
    const r = runCli(['data', '--data', 'moons', '--n', String(n), '--seed', '3', '--out', 'm.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ data: 'moons', n, seed: 3, out: 'm.csv' });
    const points = rows('m.csv');
    expect(points).toHaveLength(n);
    // theta ~ U[0, pi]; upper moon (cos, sin), lower (1 - cos, 1/2 - sin), each with probability 1/2; noise N(0, 0.1^2).
    const meanX = 0.5;
    const meanY = 0.5 * (2 / Math.PI) + 0.5 * (0.5 - 2 / Math.PI);
    const varX = 0.5 * 0.5 + 0.5 * 1.5 - meanX ** 2 + 0.01;
    const varY = 0.5 * 0.5 + 0.5 * (0.25 - 2 / Math.PI + 0.5) - meanY ** 2 + 0.01;
    const mean = (j: number) => points.reduce((a, p) => a + p[j], 0) / n;
    const variance = (j: number, m: number) => points.reduce((a, p) => a + (p[j] - m) ** 2, 0) / (n - 1);
    expect(Math.abs(mean(0) - meanX)).toBeLessThan(4 * Math.sqrt(varX / n));
    expect(Math.abs(mean(1) - meanY)).toBeLessThan(4 * Math.sqrt(varY / n));
    // Variance: standard error below sqrt(2/n) var (moons are lighter-tailed than a Gaussian).
    expect(Math.abs(variance(0, mean(0)) / varX - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    expect(Math.abs(variance(1, mean(1)) / varY - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    runCli(['data', '--data', 'moons', '--n', '100', '--seed', '3', '--out', 'again.csv'], { cwd: dir });
    expect(rows('again.csv')).toEqual(points.slice(0, 100));
  });

  test.each([
    [['--data', 'moon', '--out', 'x.csv'], /^sde: --data: expected one of moons, swissroll/],
    [['--data', 'moons', '--n', '0', '--out', 'x.csv'], /^sde: --n: expected an integer >= 1/],
    [['--data', 'moons', '--out', 'x.txt'], /^sde: --out: expected a \.csv file name/],
    [['--data', 'moons', '--out', 'no/dir/x.csv'], /^sde: --out: directory 'no\/dir' does not exist/],
  ])('%j: one line, exit 2, nothing written', (args, message) => {
    const before = fs.readdirSync(dir).sort();
    const r = runCli(['data', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(message)]);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });
});
