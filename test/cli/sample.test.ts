import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorLines, runCli } from './run-cli.js';

let dir: string;
const MIX = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-sample-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
  fs.writeFileSync(path.join(dir, 'bad-std.json'), JSON.stringify({ ...MIX, stds: [0.4, -1, 0.4] }));
  fs.writeFileSync(path.join(dir, 'ref.csv'), '0,3\n1,2\n-2,-1\n2,-1\n0.5,2.5\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function readCsv(file: string): number[][] {
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
}

describe('sde sample', () => {
  test('--json reports solver, steps, nfe, seconds, n, out; the CSV holds the samples with the mixture weights', () => {
    const r = runCli(['sample', '--oracle', 'mix.json', '--solver', 'dpm-solver', '--steps', '10', '--n', '4000', '--out', 'x.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ solver: 'dpm-solver', steps: 10, n: 4000, out: 'x.csv' });
    expect(out.nfe).toBeGreaterThanOrEqual(10);
    expect(out.seconds).toBeGreaterThan(0);
    const points = readCsv(path.join(dir, 'x.csv'));
    expect(points).toHaveLength(4000);
    // Nearest-mean assignment: each weight within 4 binomial standard errors (about 0.025 at n = 4000).
    const counts = [0, 0, 0];
    for (const p of points) {
      const d = MIX.means.map((m) => (p[0] - m[0]) ** 2 + (p[1] - m[1]) ** 2);
      counts[d.indexOf(Math.min(...d))]++;
    }
    counts.forEach((c, k) => expect(Math.abs(c / 4000 - MIX.weights[k])).toBeLessThan(4 * Math.sqrt((MIX.weights[k] * (1 - MIX.weights[k])) / 4000)));
  });

  test('the same seed gives the same samples; another seed does not', () => {
    const run = (seed: string, out: string) => runCli(['sample', '--oracle', 'mix.json', '--solver', 'euler-maruyama', '--steps', '20', '--n', '50', '--seed', seed, '--out', out], { cwd: dir });
    expect(run('3', 'a.csv').code).toBe(0);
    expect(run('3', 'b.csv').code).toBe(0);
    expect(run('4', 'c.csv').code).toBe(0);
    const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
    expect(read('a.csv')).toBe(read('b.csv'));
    expect(read('a.csv')).not.toBe(read('c.csv'));
  });

  test('ode-rk45 reports accepted and rejected steps', () => {
    const r = runCli(['sample', '--oracle', 'mix.json', '--solver', 'ode-rk45', '--rtol', '1e-3', '--atol', '1e-3', '--n', '200', '--out', 'rk.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.accepted).toBeGreaterThan(0);
    expect(out.nfe).toBeGreaterThanOrEqual(6 * out.accepted);
  });

  test.each([
    [['--solver', 'euler-maruyama'], /--checkpoint DIR or --oracle/],
    [['--oracle', 'mix.json', '--checkpoint', 'x', '--solver', 'ddpm'], /exclude each other/],
    [['--oracle', 'missing.json', '--solver', 'ddpm'], /missing\.json/],
    [['--oracle', 'bad-std.json', '--solver', 'ddpm'], /bad-std\.json.*std/],
    [['--oracle', 'mix.json', '--solver', 'magic'], /--solver.*magic/],
    [['--oracle', 'mix.json', '--solver', 'ddpm', '--steps', '0'], /--steps/],
    [['--oracle', 'mix.json', '--solver', 'ddpm', '--n', '2.5'], /--n/],
    [['--oracle', 'mix.json', '--solver', 'ode-rk45', '--rtol', '-1'], /--rtol/],
    [['--oracle', 'mix.json', '--solver', 'ode-rk45', '--steps', '10'], /--steps.*adaptive/],
    [['--oracle', 'mix.json', '--solver', 'ddpm', '--eps', '2'], /--eps/],
    [['--oracle', 'mix.json', '--solver', 'ddim', '--eta', '-0.5'], /--eta/],
    [['--oracle', 'mix.json', '--solver', 'ddpm', '--out', 'no/such/dir/x.csv'], /--out/],
    [['--oracle', 'mix.json', '--solver', 'ddpm', '--out', 'x.txt'], /--out.*\.csv/],
  ])('bad input %j: one line, exit 2, no file written', (args, pattern) => {
    const before = fs.readdirSync(dir).sort();
    const r = runCli(['sample', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });
});

describe('sde compare', () => {
  test('--json has one row per solver and step count, with the noise floor; --report writes HTML', () => {
    const r = runCli(['compare', '--oracle', 'mix.json', '--solvers', 'ddpm,dpm-solver,ode-rk45', '--steps', '10,20', '--tolerances', '1e-3', '--n', '500', '--report', 'cmp.html', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows.map((row: { solver: string }) => row.solver)).toEqual(['ddpm', 'ddpm', 'dpm-solver', 'dpm-solver', 'ode-rk45']);
    for (const row of out.rows) {
      for (const key of ['nfe', 'seconds', 'sw2', 'energy']) expect(Number.isFinite(row[key])).toBe(true);
    }
    expect(out.noiseFloor.sw2).toBeGreaterThan(0);
    const html = fs.readFileSync(path.join(dir, 'cmp.html'), 'utf8');
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
  });

  test.each([
    [['--oracle', 'mix.json', '--solvers', 'ddpm,nope'], /--solvers.*nope/],
    [['--oracle', 'mix.json', '--steps', '10,x'], /--steps/],
    [['--oracle', 'mix.json', '--reference', 'missing.csv'], /missing\.csv/],
    [['--oracle', 'mix.json', '--report', 'r.txt'], /--report/],
  ])('bad input %j: one line, exit 2', (args, pattern) => {
    const r = runCli(['compare', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(errorLines(r.stderr)[0]).toMatch(pattern);
  });
});
