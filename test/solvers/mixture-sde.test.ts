import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { discretize, makeSDE } from '../../src/sde/index.js';
import { integrate } from '../../src/solvers/index.js';
import { TRIANGLE } from './helpers.js';
import { defaultStepTests, sampleTriangle } from './mixture-cases.js';

// Stochastic samplers on a 2-D mixture of three well separated components (VP-SDE, n = 20,000).
describe('stochastic samplers on the oracle mixture', () => {
  defaultStepTests(['euler-maruyama', 'reverse-diffusion', 'ddpm', 'pc']);

  test('ddim with eta = 1 matches ddpm in distribution (200 steps each, independent seeds)', () => {
    // At equal step counts: both are ancestral samplers with the beta-tilde posterior variance, which
    // under-disperses at few steps in the same way (see convergence.test.ts), so they are compared with each other.
    const { check: ddpm } = sampleTriangle('ddpm', { steps: 200 }, 3);
    const { check: ddim } = sampleTriangle('ddim', { eta: 1, steps: 200, grid: 'uniform' }, 4);
    ddim.weights.forEach((w, k) => expect(Math.abs(w - ddpm.weights[k])).toBeLessThan(0.02));
    ddim.moments.mean.forEach((v, j) => expect(Math.abs(v - ddpm.moments.mean[j])).toBeLessThan(4 * Math.hypot(ddim.moments.meanSE[j], ddpm.moments.meanSE[j])));
    ddim.moments.cov.forEach((row, i) =>
      row.forEach((v, j) => expect(Math.abs(v - ddpm.moments.cov[i][j])).toBeLessThan(4 * Math.hypot(ddim.moments.covSE[i][j], ddpm.moments.covSE[i][j]))),
    );
    // Pooled within-component variances: standard error ~0.7% each.
    expect(Math.abs(ddim.withinVar / ddpm.withinVar - 1)).toBeLessThan(0.03);
  });

  test('ddim with eta = 1 on the ddpm chain times plus a Tweedie step is ddpm, sample for sample', () => {
    const sde = makeSDE({ sde: 'vp' });
    const score = mixtureScore(sde, TRIANGLE);
    const N = 100;
    const grid = Array.from(discretize(sde, N, 'exact').times).reverse();
    const a = integrate(sde, score, 'ddpm', { shape: [2000, 2], steps: N, seed: 5 });
    const b = integrate(sde, score, 'ddim', { shape: [2000, 2], eta: 1, grid, denoise: true, seed: 5 });
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a.x, b.x))).dataSync()[0]);
    console.log(`ddpm vs ddim(eta = 1) on the chain times, same seed: max |difference| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThan(1e-3);
    expect(b.nfe).toBe(a.nfe);
    tf.dispose([a.x, b.x]);
    score.dispose();
  });

  test('ddpm stays finite and close at 10 and 20 steps (exact alpha-bar map)', () => {
    for (const [steps, tol] of [[10, 0.04], [20, 0.03]]) {
      const { check } = sampleTriangle('ddpm', { steps });
      check.weights.forEach((w, k) => expect(Math.abs(w - TRIANGLE.weights[k])).toBeLessThan(tol));
    }
  });
});
