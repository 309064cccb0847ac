import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { bitsPerDim, dequantize, exactScoreDivergence, odeLogLikelihood, offEightBitGrid } from '../../src/eval/likelihood.js';
import { mixtureScore, sampleMixture, type GaussianMixture } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/registry.js';

/*
 * Closed forms, float64 on the host, independent of src/sde: the linear VP-SDE (beta 0.1 .. 20) has
 * B(t) = 0.1 t + 9.95 t^2, mean m = exp(-B/2), std^2 = 1 - exp(-B); the VE-SDE (sigma 0.01 .. 50)
 * has m = 1, std^2 = sigma(t)^2 - 0.01^2 with sigma(t) = 0.01 * 5000^t. A mixture diffused to t is
 * p_t(x) = sum_k w_k N(x; m mu_k, (m^2 s_k^2 + std^2) I).
 */
const vpMarginal = (t: number) => {
  const B = 0.1 * t + 9.95 * t * t;
  return { m: Math.exp(-B / 2), v: -Math.expm1(-B) };
};
const veMarginal = (t: number) => ({ m: 1, v: (0.01 * 5000 ** t) ** 2 - 1e-4 });

function logDensity(mix: GaussianMixture, marginal: { m: number; v: number }, x: ArrayLike<number>): number {
  const D = x.length;
  const terms = mix.weights.map((w, k) => {
    const v = marginal.m ** 2 * mix.stds[k] ** 2 + marginal.v;
    let sq = 0;
    for (let j = 0; j < D; j++) sq += (x[j] - marginal.m * mix.means[k][j]) ** 2;
    return Math.log(w) - sq / (2 * v) - (D / 2) * Math.log(2 * Math.PI * v);
  });
  const top = Math.max(...terms);
  return top + Math.log(terms.reduce((s, v) => s + Math.exp(v - top), 0));
}

const meanAndSe = (a: ArrayLike<number>) => {
  const n = a.length;
  const mean = Array.from(a).reduce((s, v) => s + v, 0) / n;
  const variance = Array.from(a).reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, se: Math.sqrt(variance / n) };
};

const EPS = 1e-5;
const TRIANGLE: GaussianMixture = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };
// Four dimensions, unequal spreads, on the VE-SDE.
const PAIR4: GaussianMixture = { weights: [0.6, 0.4], means: [[1, -1, 0.5, 0], [-1, 1, -0.5, 2]], stds: [0.3, 0.7] };

describe('probability-flow ODE log-likelihood', () => {
  test.each([
    ['vp', TRIANGLE, vpMarginal, 300],
    ['ve', PAIR4, veMarginal, 150],
  ] as const)('%s: the oracle NLL equals the closed-form -log p_eps within 0.01 nats/dim', (name, mix, marginal, n) => {
    const sde = makeSDE({ sde: name });
    const score = mixtureScore(sde, mix);
    const { x } = sampleMixture(mix, n, 1);
    const points = x.arraySync() as number[][];
    const D = points[0].length;
    const before = tf.memory().numTensors;
    const started = performance.now();
    const r = odeLogLikelihood(sde, score, x);
    const ms = performance.now() - started;
    expect(tf.memory().numTensors).toBe(before);
    expect(r.divergence).toBe('exact');
    expect(r.nfe).toBe(1 + 6 * (r.accepted + r.rejected));
    const closed = points.map((p) => -logDensity(mix, marginal(EPS), p));
    const closedPerDim = closed.reduce((s, v) => s + v, 0) / (n * D);
    // The reported NLL (prior N(0, priorStd^2 I) at T) against the closed form, averaged over the points.
    expect(Math.abs(r.natsPerDim - closedPerDim)).toBeLessThan(0.01);
    expect(r.bitsPerDim).toBeCloseTo(r.natsPerDim / Math.LN2, 12);
    // Point by point, with the exact p_T at the ODE's end point in place of the prior: only the
    // integration is left in the error.
    const errors = points.map((_p, i) => {
      const xT = r.xT.subarray(i * D, (i + 1) * D);
      return Math.abs(-(logDensity(mix, marginal(sde.T), xT) + r.delta[i]) - closed[i]) / D;
    });
    const withPrior = points.map((_p, i) => Math.abs(-r.logp[i] - closed[i]) / D);
    console.log(
      `${name} D=${D}: NLL ${r.natsPerDim.toFixed(5)} vs closed form ${closedPerDim.toFixed(5)} nats/dim; ` +
        `per point max error ${Math.max(...errors).toExponential(2)} (exact p_T), ${Math.max(...withPrior).toExponential(2)} (prior); ` +
        `nfe ${r.nfe}, ${ms.toFixed(0)} ms`,
    );
    expect(Math.max(...errors)).toBeLessThan(0.01);
    x.dispose();
    score.dispose();
  });

  test('Hutchinson (Rademacher and Gaussian probes) averages to the exact divergence result', () => {
    const sde = makeSDE();
    const score = mixtureScore(sde, TRIANGLE);
    const { x } = sampleMixture(TRIANGLE, 400, 2);
    const exact = odeLogLikelihood(sde, score, x, { divergence: 'exact' });
    for (const probe of ['rademacher', 'gaussian'] as const) {
      const before = tf.memory().numTensors;
      const h = odeLogLikelihood(sde, score, x, { divergence: 'hutchinson', probe, seed: 5 });
      expect(tf.memory().numTensors).toBe(before);
      expect(h.divergence).toBe('hutchinson');
      const { mean, se } = meanAndSe(h.logp.map((v, i) => v - exact.logp[i]));
      console.log(`hutchinson ${probe}: mean log p difference ${mean.toFixed(4)} nats (SE ${se.toFixed(4)}), NLL ${h.natsPerDim.toFixed(4)} vs exact ${exact.natsPerDim.toFixed(4)} nats/dim, nfe ${h.nfe}`);
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(mean)).toBeLessThan(3 * se);
      // A fixed seed gives the same estimate.
      const again = odeLogLikelihood(sde, score, x, { divergence: 'hutchinson', probe, seed: 5 });
      expect(Array.from(again.logp)).toEqual(Array.from(h.logp));
    }
    x.dispose();
    score.dispose();
  });

  test('above 16 dimensions Hutchinson is the default; with a linear score a Rademacher probe is exact', () => {
    // One Gaussian component in 20 dimensions: the score is linear, its Jacobian -I/v, so v^T J v = -D/v for v in {-1, 1}^D.
    const mix: GaussianMixture = { weights: [1], means: [Array.from({ length: 20 }, (_, j) => Math.sin(j))], stds: [0.6] };
    const sde = makeSDE();
    const score = mixtureScore(sde, mix);
    const { x } = sampleMixture(mix, 50, 3);
    const r = odeLogLikelihood(sde, score, x, { seed: 1 });
    expect(r.divergence).toBe('hutchinson');
    const points = x.arraySync() as number[][];
    const closed = points.reduce((s, p) => s - logDensity(mix, vpMarginal(EPS), p), 0) / (50 * 20);
    expect(Math.abs(r.natsPerDim - closed)).toBeLessThan(0.01);
    // The exact divergence of the same score: -D / v at every point.
    const t = tf.scalar(0.3);
    const { score: s, divergence } = exactScoreDivergence(score, x, t);
    const v = vpMarginal(0.3).m ** 2 * 0.36 + vpMarginal(0.3).v;
    Array.from(divergence.dataSync()).forEach((d) => expect(d).toBeCloseTo(-20 / v, 2));
    const direct = score(x, t);
    expect(Math.max(...Array.from(tf.sub(s, direct).abs().dataSync()))).toBeLessThan(1e-5);
    tf.dispose([t, s, divergence, direct, x]);
    score.dispose();
  });

  test('dequantization and the 8-bit offset', () => {
    const levels = [-1, -1 + 1 / 127.5, 1 / 255, 1];
    expect(offEightBitGrid(levels)).toBe(-1);
    expect(offEightBitGrid([1 / 255, 0.5])).toBe(1);
    expect(offEightBitGrid([0])).toBe(0);
    expect(offEightBitGrid([1.01])).toBe(0);
    const d = dequantize(levels, 3);
    d.forEach((v, i) => expect(Math.abs(v - levels[i])).toBeLessThanOrEqual(0.5 / 127.5 + 1e-7));
    expect(Array.from(dequantize(levels, 3))).toEqual(Array.from(d));
    // The uniform density 1/2 on [-1, 1]: log2(255) = 7.994 bits/dim, about the 8 bits of 256 equally likely levels.
    expect(bitsPerDim(Math.log(2), true)).toBeCloseTo(Math.log2(255), 12);
    expect(bitsPerDim(Math.log(2))).toBeCloseTo(1, 12);
  });
});
