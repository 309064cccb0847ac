import { assignComponents, mixtureDim, type GaussianMixture } from '../oracle/mixture.js';
import type { Points } from './metrics.js';

/** The errors of one mixture component, from the points assigned to it. */
export interface ComponentError {
  /** Points assigned to the component. */
  count: number;
  /** |sample mean - mu_k| (Euclidean); null with no point assigned. */
  meanError: number | null;
  /** ||sample covariance - s_k^2 I||_F (divisor count - 1); null with fewer than two points. */
  covarianceError: number | null;
}

/** Oracle metrics of a sample against the exact mixture it should follow. */
export interface OracleMetrics {
  /** Fraction of the points assigned to each component. */
  fractions: number[];
  /** Total variation between fractions and weights: 1/2 sum_k |f_k - w_k|. */
  modeWeightTV: number;
  /** max_k |f_k - w_k|. */
  modeWeightMaxError: number;
  components: ComponentError[];
  /** Largest meanError and covarianceError over the components with points (null when none has). */
  maxMeanError: number | null;
  maxCovarianceError: number | null;
}

/** Sample mean and covariance (divisor n - 1, two passes) of the rows listed in `members`. */
function memberMoments(points: Points, members: number[], D: number): { mean: number[]; cov: number[][] } {
  const n = members.length;
  const mean = new Array<number>(D).fill(0);
  for (const i of members) for (let j = 0; j < D; j++) mean[j] += points[i][j] / n;
  const cov = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  for (const i of members) {
    for (let p = 0; p < D; p++) {
      const dp = points[i][p] - mean[p];
      for (let q = 0; q < D; q++) cov[p][q] += (dp * (points[i][q] - mean[q])) / (n - 1);
    }
  }
  return { mean, cov };
}

function componentError(points: Points, members: number[], mu: number[], s: number): ComponentError {
  const D = mu.length;
  const count = members.length;
  if (count === 0) return { count, meanError: null, covarianceError: null };
  const { mean, cov } = memberMoments(points, members, D);
  const meanError = Math.hypot(...mean.map((m, j) => m - mu[j]));
  if (count < 2) return { count, meanError, covarianceError: null };
  let frobenius = 0;
  for (let p = 0; p < D; p++) for (let q = 0; q < D; q++) frobenius += (cov[p][q] - (p === q ? s * s : 0)) ** 2;
  return { count, meanError, covarianceError: Math.sqrt(frobenius) };
}

function maxOf(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.max(...present);
}

/**
 * Oracle metrics of samples from a sampler meant to follow `mix`: each point goes to its component
 * of highest posterior responsibility p(k | x), exact in float64 (src/oracle assignComponents); the mode-weight error compares the assigned
 * fractions f_k with the weights w_k (total variation 1/2 sum |f_k - w_k| and max |f_k - w_k|),
 * and per component |mean - mu_k| and ||cov - s_k^2 I||_F of the assigned points. Where
 * components overlap the assignment cuts their tails, so even exact draws show small errors:
 * compare with the metrics' noise floor on draws of the mixture itself.
 */
export function oracleMetrics(mix: GaussianMixture, points: Points): OracleMetrics {
  if (points.length === 0) throw new Error('oracleMetrics needs a non-empty point set');
  const D = mixtureDim(mix);
  const bad = points.findIndex((x) => x.length !== D);
  if (bad >= 0) throw new Error(`oracleMetrics: point ${bad} has ${points[bad].length} coordinates, the mixture ${D}`);
  const K = mix.weights.length;
  const assigned = assignComponents(mix, points);
  const members = Array.from({ length: K }, (): number[] => []);
  assigned.forEach((k, i) => members[k].push(i));
  const fractions = members.map((m) => m.length / points.length);
  const gaps = fractions.map((f, k) => Math.abs(f - mix.weights[k]));
  const components = members.map((m, k) => componentError(points, m, mix.means[k], mix.stds[k]));
  return {
    fractions,
    modeWeightTV: gaps.reduce((a, g) => a + g, 0) / 2,
    modeWeightMaxError: Math.max(...gaps),
    components,
    maxMeanError: maxOf(components.map((c) => c.meanError)),
    maxCovarianceError: maxOf(components.map((c) => c.covarianceError)),
  };
}
