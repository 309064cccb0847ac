import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { expectedNfe } from '../src/index.js';
import { DIST } from './cli/run-cli.js';

// The examples/ programs, built to dist/examples by tsc (npm test builds before vitest runs),
// run as a user would, with small sizes; each prints one JSON object with --json.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function runExample(name: string, args: string[]): Record<string, any> {
  const file = path.join(DIST, 'examples', `${name}.js`);
  const r = spawnSync(process.execPath, [file, '--json', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]);
}

describe('examples/custom-score', () => {
  // Data N(mu, s^2 I) with mu = (1.5, -0.5), s = 0.5 on the linear VP-SDE (0.1, 20): at the end
  // time eps the samples should be N(m mu, (m^2 s^2 + 1 - m^2) I), m = exp(-B(eps)/2).
  const mu = [1.5, -0.5];
  const s = 0.5;
  const eps = 1e-3;
  const m = Math.exp(-0.5 * (0.1 * eps + 0.5 * (20 - 0.1) * eps * eps));
  const exactStd = Math.sqrt(m * m * s * s + 1 - m * m);
  const n = 4000;

  for (const [solver, steps] of [['ode-heun', 100], ['euler-maruyama', 200]] as const) {
    it(`${solver}: sample mean and std match the closed form`, () => {
      const r = runExample('custom-score', ['--n', String(n), '--steps', String(steps), '--solver', solver]);
      expect(r.nfe).toBe(expectedNfe(solver, { steps }));
      expect(r.exactStd).toBeCloseTo(exactStd, 6);
      // Standard errors of n draws: s / sqrt(n) = 0.008 for a mean, about s / sqrt(2n) = 0.006 for
      // a std; 4 of them, plus 0.01 for the steps and the prior N(0, I) not being exactly p_T.
      r.mean.forEach((v: number, j: number) => expect(Math.abs(v - m * mu[j])).toBeLessThan((4 * exactStd) / Math.sqrt(n) + 0.01));
      r.std.forEach((v: number) => expect(Math.abs(v - exactStd)).toBeLessThan((4 * exactStd) / Math.sqrt(2 * n) + 0.01));
    });
  }
});

describe('examples/compare-oracle', () => {
  it('both solvers come close to exact draws of the mixture', () => {
    const r = runExample('compare-oracle', ['--n', '4000', '--steps', '20', '--solvers', 'euler-maruyama,ode-heun']);
    expect(r.results.map((x: { solver: string }) => x.solver)).toEqual(['euler-maruyama', 'ode-heun']);
    for (const x of r.results) {
      expect(x.steps).toBe(20);
      expect(x.nfe).toBe(expectedNfe(x.solver, { steps: 20 }));
      // Two sets of 4000 exact draws are about 0.04 apart in sliced W2; the prior N(0, I) is
      // about 0.5 from this ring of radius 2. 20 steps land within a few times the floor.
      expect(x.sw2).toBeGreaterThan(0);
      expect(x.sw2).toBeLessThan(0.2);
      expect(Math.abs(x.energy)).toBeLessThan(0.02);
    }
    expect(r.exact.sw2).toBeLessThan(0.1);
  });
});

describe('examples/train-moons', () => {
  it('a short run learns: samples beat the prior, through a saved and loaded checkpoint', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-example-'));
    try {
      const r = runExample('train-moons', ['--iters', '1000', '--n', '2000', '--steps', '50', '--out', out]);
      expect(r.iters).toBe(1000);
      expect(fs.existsSync(path.join(out, 'config.json'))).toBe(true);
      expect(r.lastLoss).toBeLessThan(r.firstLoss);
      // Standardized moons are only 0.28 from N(0, I) in sliced W2; 1000 steps reach about 0.1.
      expect(r.prior).toBeGreaterThan(0.2);
      expect(r.ode.sw2).toBeLessThan(0.6 * r.prior);
      expect(r.sde.sw2).toBeLessThan(0.6 * r.prior);
      expect(r.ode.nfe).toBe(expectedNfe('ode-heun', { steps: 50 }));
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
