import * as tf from '@tensorflow/tfjs';
import type { SDE } from '../../src/sde/index.js';
import { integrate, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';
import type { ScoreFn } from '../../src/sde/index.js';

/** Three well separated components on a triangle (side 4, centred at 0), std 0.5. */
const R = 4 / Math.sqrt(3);
export const TRIANGLE = {
  weights: [0.2, 0.3, 0.5],
  means: [0, 1, 2].map((k) => [R * Math.cos(Math.PI / 2 + (2 * Math.PI * k) / 3), R * Math.sin(Math.PI / 2 + (2 * Math.PI * k) / 3)]),
  stds: [0.5, 0.5, 0.5],
};

/** 1-D Gaussian data N(MU, S0^2) for the convergence checks. */
export const MU = 1.5;
export const S0 = 0.5;

/** Marginal of N(MU, S0^2) under the SDE at t, in float64: N(m MU, m^2 S0^2 + std^2). */
export function gaussianMarginal(sde: SDE, t: number): { mean: number; std: number } {
  const { mean, std } = sde.marginalAt(t);
  return { mean: mean * MU, std: Math.sqrt(mean * mean * S0 * S0 + std * std) };
}

export interface Moments {
  n: number;
  mean: number[];
  cov: number[][];
  /** Standard errors of mean and covariance entries, from the sample's own moments. */
  meanSE: number[];
  covSE: number[][];
}

/** Sample mean and covariance with their standard errors (float64). */
export function moments(points: number[][]): Moments {
  const n = points.length;
  const D = points[0].length;
  const mean = new Array<number>(D).fill(0);
  for (const p of points) for (let j = 0; j < D; j++) mean[j] += p[j] / n;
  const cov = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  const cov2 = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  for (const p of points) {
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < D; j++) {
        const q = (p[i] - mean[i]) * (p[j] - mean[j]);
        cov[i][j] += q / n;
        cov2[i][j] += (q * q) / n;
      }
    }
  }
  return {
    n,
    mean,
    cov,
    meanSE: mean.map((_m, j) => Math.sqrt(cov[j][j] / n)),
    covSE: cov.map((row, i) => row.map((c, j) => Math.sqrt(Math.max(cov2[i][j] - c * c, 0) / n))),
  };
}

/** Assigns each point to the nearest mean; returns the fractions and the pooled within-component variance per dimension. */
export function nearestComponent(points: number[][], means: number[][]): { weights: number[]; withinVar: number } {
  const counts = new Array<number>(means.length).fill(0);
  let within = 0;
  for (const p of points) {
    let best = 0;
    let bd = Infinity;
    means.forEach((m, k) => {
      const d = m.reduce((s, v, j) => s + (p[j] - v) ** 2, 0);
      if (d < bd) {
        bd = d;
        best = k;
      }
    });
    counts[best]++;
    within += bd;
  }
  return { weights: counts.map((c) => c / points.length), withinVar: within / points.length / means[0].length };
}

/**
 * The exact law of a sampler whose update is affine in (x, noise) with a per-sample affine
 * score (1-D Gaussian data): with N noise draws, x_end = alpha x_T + beta + sum_j gamma_j z_j.
 * Runs the real solver once on a batch of N + 2 particles: particle j < N gets noise 1 at draw
 * j only and x_T = 0; particle N gets no noise and x_T = 0 (-> beta); N + 1 gets x_T = 1 (-> alpha + beta).
 * Returns the mean and std of x_end for x_T ~ N(mT, sT^2).
 */
export function affineLaw(sde: SDE, score: ScoreFn, solver: SolverName, options: IntegrateOptions, draws: number, start: { mean: number; std: number }): { mean: number; std: number; nfe: number } {
  const n = draws + 2;
  const xT = tf.tensor2d(Array.from({ length: n }, (_v, j) => [j === draws + 1 ? 1 : 0]), [n, 1]);
  const noise = (shape: number[], step: number) => {
    const z = new Float32Array(n);
    if (step < draws) z[step] = 1;
    return tf.tensor(z, shape);
  };
  const r = integrate(sde, score, solver, { ...options, xT, noiseSampler: noise });
  const x = r.x.dataSync();
  r.x.dispose();
  xT.dispose();
  const beta = x[draws];
  const alpha = x[draws + 1] - beta;
  let v = alpha * alpha * start.std * start.std;
  for (let j = 0; j < draws; j++) v += (x[j] - beta) ** 2;
  return { mean: alpha * start.mean + beta, std: Math.sqrt(v), nfe: r.nfe };
}

export interface MixtureCheck {
  weights: number[];
  withinVar: number;
  withinRef: number;
  moments: Moments;
  refMean: number[];
  refCov: number[][];
}

/**
 * Compares samples with the triangle mixture's marginal at time t (t = 0: the data), all in
 * float64: p_t = sum_k w_k N(m mu_k, (m^2 s^2 + std^2) I), mean m mu-bar, covariance
 * m^2 (sum_k w_k (s^2 I + mu_k mu_k^T) - mu-bar mu-bar^T) + std^2 I.
 */
export function checkAgainstTriangle(sde: SDE, points: number[][], t: number): MixtureCheck {
  const { mean: m, std: s } = t === 0 ? { mean: 1, std: 0 } : sde.marginalAt(t);
  const mix = TRIANGLE;
  const bar = [0, 1].map((j) => mix.weights.reduce((a, w, k) => a + w * mix.means[k][j], 0));
  const refMean = bar.map((v) => m * v);
  const refCov = [0, 1].map((i) =>
    [0, 1].map((j) => {
      const second = mix.weights.reduce((a, w, k) => a + w * ((i === j ? mix.stds[k] ** 2 : 0) + mix.means[k][i] * mix.means[k][j]), 0);
      return m * m * (second - bar[i] * bar[j]) + (i === j ? s * s : 0);
    }),
  );
  const near = nearestComponent(points, mix.means.map((mu) => mu.map((v) => m * v)));
  return { weights: near.weights, withinVar: near.withinVar, withinRef: m * m * 0.25 + s * s, moments: moments(points), refMean, refCov };
}

/** One line for the log: weights, within-component variance error, mean and covariance errors in standard errors. */
export function describeCheck(label: string, c: MixtureCheck, extra = ''): string {
  const meanZ = c.moments.mean.map((v, j) => (v - c.refMean[j]) / c.moments.meanSE[j]);
  const covZ = c.moments.cov.flatMap((row, i) => row.map((v, j) => (v - c.refCov[i][j]) / c.moments.covSE[i][j]));
  return `${label}: weights ${c.weights.map((w) => w.toFixed(4)).join('/')}, within-var ${(c.withinVar / c.withinRef - 1 >= 0 ? '+' : '')}${((c.withinVar / c.withinRef - 1) * 100).toFixed(2)}%, mean z ${meanZ.map((z) => z.toFixed(2)).join(',')}, cov z ${covZ.map((z) => z.toFixed(2)).join(',')} ${extra}`;
}
