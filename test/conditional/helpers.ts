import { expect } from 'vitest';
import { mixtureCovariance, mixtureMean, type GaussianMixture } from '../../src/oracle/index.js';
import { moments, type Moments } from '../solvers/helpers.js';

/** Two classes, two components each, in 2-D. */
export const CLASSED: GaussianMixture = {
  weights: [0.1, 0.3, 0.4, 0.2],
  means: [[-3, 2], [-3, -2], [3, 2], [3, -2]],
  stds: [0.5, 0.7, 0.5, 0.6],
  classes: [0, 0, 1, 1],
};

/** Samples against an exact (float64) mixture: nearest-mean weights, per-component moments, overall moments. */
export interface MixtureFit {
  /** Fraction of points nearest each component of `mix`, and nearest none of them (closer to an `other` mean). */
  weights: number[];
  leaked: number;
  /** Per component: mean of its points per coordinate and their variance pooled over coordinates. */
  compMeans: number[][];
  compVars: number[];
  counts: number[];
  moments: Moments;
  exactMean: number[];
  exactCov: number[][];
}

/**
 * Assigns each point to the nearest mean among mix.means and `others` (means of components that
 * should be empty), and collects the moments to compare with mix's closed forms.
 */
export function fitMixture(points: number[][], mix: GaussianMixture, others: number[][] = []): MixtureFit {
  const K = mix.weights.length;
  const all = [...mix.means, ...others];
  const D = mix.means[0].length;
  const counts = new Array<number>(all.length).fill(0);
  const sums = all.map(() => new Array<number>(D).fill(0));
  const sq = all.map(() => new Array<number>(D).fill(0));
  for (const p of points) {
    let best = 0;
    let bd = Infinity;
    all.forEach((m, k) => {
      const d = m.reduce((s, v, j) => s + (p[j] - v) ** 2, 0);
      if (d < bd) {
        bd = d;
        best = k;
      }
    });
    counts[best]++;
    p.forEach((v, j) => {
      sums[best][j] += v;
      sq[best][j] += v * v;
    });
  }
  const n = points.length;
  const compMeans = sums.slice(0, K).map((s, k) => s.map((v) => v / counts[k]));
  const compVars = sq.slice(0, K).map((s, k) => s.reduce((a, v, j) => a + v / counts[k] - compMeans[k][j] ** 2, 0) / D);
  return {
    weights: counts.slice(0, K).map((c) => c / n),
    leaked: counts.slice(K).reduce((a, b) => a + b, 0) / n,
    compMeans,
    compVars,
    counts: counts.slice(0, K),
    moments: moments(points),
    exactMean: mixtureMean(mix),
    exactCov: mixtureCovariance(mix),
  };
}

/** One log line: weights, component means and variances against the exact values, overall z-scores. */
export function describeFit(label: string, f: MixtureFit, mix: GaussianMixture): string {
  const meanZ = f.moments.mean.map((v, j) => ((v - f.exactMean[j]) / f.moments.meanSE[j]).toFixed(2));
  const covZ = f.moments.cov.flatMap((row, i) => row.map((v, j) => ((v - f.exactCov[i][j]) / f.moments.covSE[i][j]).toFixed(2)));
  return (
    `${label}: weights ${f.weights.map((w) => w.toFixed(4)).join('/')} (exact ${mix.weights.map((w) => w.toFixed(4)).join('/')}), leaked ${f.leaked.toFixed(4)}, ` +
    `component means ${f.compMeans.map((m) => `(${m.map((v) => v.toFixed(3)).join(', ')})`).join(' ')} (exact ${mix.means.map((m) => `(${m.join(', ')})`).join(' ')}), ` +
    `variances ${f.compVars.map((v) => v.toFixed(4)).join('/')} (exact ${mix.stds.map((s) => (s * s).toFixed(4)).join('/')}), mean z ${meanZ.join(',')}, cov z ${covZ.join(',')}`
  );
}

/**
 * Weights within `weightTol` and 5 binomial standard errors (whichever is larger), component means
 * within 4 standard errors, component variances within `varTol` relative, overall mean and
 * covariance within 4 standard errors of the closed forms.
 */
export function expectFit(f: MixtureFit, mix: GaussianMixture, weightTol = 0.02, varTol = 0.05): void {
  const n = f.moments.n;
  expect(f.leaked).toBeLessThan(0.005);
  f.weights.forEach((w, k) => {
    const se = Math.sqrt((mix.weights[k] * (1 - mix.weights[k])) / n);
    expect(Math.abs(w - mix.weights[k])).toBeLessThan(Math.max(weightTol, 5 * se));
  });
  f.compMeans.forEach((m, k) => {
    if (mix.weights[k] < 0.01) return;
    const se = mix.stds[k] / Math.sqrt(f.counts[k]);
    m.forEach((v, j) => expect(Math.abs(v - mix.means[k][j])).toBeLessThan(4 * se));
  });
  f.compVars.forEach((v, k) => {
    if (mix.weights[k] < 0.01) return;
    expect(Math.abs(v / mix.stds[k] ** 2 - 1)).toBeLessThan(varTol);
  });
  f.moments.mean.forEach((v, j) => expect(Math.abs(v - f.exactMean[j])).toBeLessThan(4 * f.moments.meanSE[j]));
  f.moments.cov.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - f.exactCov[i][j])).toBeLessThan(4 * f.moments.covSE[i][j])));
}
