import { describe, expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE, type SDEName } from '../../src/sde/index.js';
import { expectedNfe } from '../../src/solvers/index.js';
import { affineLaw, gaussianMarginal, MU, S0 } from './helpers.js';

// The stochastic improved Euler (Heun) sampler, added as one module plus its registry entry.
// Gaussian data: the score is affine, so affineLaw gives the exact law of the real solver's output
// (no Monte Carlo), compared with the closed-form marginal at eps computed in float64.
const EPS = 1e-3;
const orders = (errs: number[]) => errs.slice(1).map((e, i) => Math.log2(errs[i] / e));

describe.each(['vp', 'subvp', 've'] as SDEName[])('improved-euler on %s', (name) => {
  test('weak error in mean and std falls at order 2 with the step, below Euler-Maruyama at equal NFE', () => {
    const sde = makeSDE({ sde: name });
    const score = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
    const start = gaussianMarginal(sde, sde.T);
    const end = gaussianMarginal(sde, EPS);
    const error = (solver: 'improved-euler' | 'euler-maruyama', steps: number) => {
      const law = affineLaw(sde, score, solver, { steps, eps: EPS }, steps, start);
      expect(law.nfe).toBe(expectedNfe(solver, { steps }));
      return Math.abs(law.mean - end.mean) + Math.abs(law.std - end.std);
    };
    const steps = [25, 50, 100, 200];
    const errs = steps.map((N) => error('improved-euler', N));
    const o = orders(errs);
    console.log(`${name} improved-euler steps ${steps.join(',')}: |dmean| + |dstd| ${errs.map((e) => e.toExponential(2)).join(' ')}; orders ${o.map((v) => v.toFixed(2)).join(' ')}`);
    for (const v of o.slice(1)) expect(Math.abs(v - 2)).toBeLessThan(0.3);
    // Two NFE per step: at 200 NFE (100 steps) it beats Euler-Maruyama's 200 steps (VP, sub-VP:
    // weak order 1; on VE Euler-Maruyama's std error falls at order 2 too and the two are close).
    if (name !== 've') expect(errs[2]).toBeLessThan(error('euler-maruyama', 200) / 4);
    expect(expectedNfe('improved-euler', { steps: 100 })).toBe(200);
    score.dispose();
  });
});
