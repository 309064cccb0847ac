import * as tf from '@tensorflow/tfjs';
import { mixSeed, normalArray, uniformRng } from '../random.js';
import { driftCoefficients, PROBABILITY_FLOW } from '../sde/reverse.js';
import type { ScoreFn, SDE } from '../sde/types.js';
import { dormandPrince } from '../solvers/rk45.js';
import { dimsPerSample } from '../tensor/dims.js';

/** Default start time of the likelihood ODE (the NLL is that of the data diffused to t = eps). */
export const DEFAULT_LIKELIHOOD_EPS = 1e-5;
/** Exact divergence (one Jacobian row per dimension) up to this dimension; Hutchinson's estimator above. */
export const EXACT_DIVERGENCE_MAX_DIM = 16;
/** Hutchinson probe distributions. */
export const PROBES = ['rademacher', 'gaussian'] as const;
export type Probe = (typeof PROBES)[number];
export type DivergenceMethod = 'exact' | 'hutchinson';

/** Seed stream of the Hutchinson probe (under the run's base seed). */
const PROBE_STREAM = 11;

/** Number of levels of 8-bit data on [-1, 1]: x = k / 127.5 - 1, k = 0..255. */
export const EIGHT_BIT_LEVELS = 256;
/** Half the number of bins per unit on [-1, 1]: the bin width of 8-bit data there is 1 / 127.5. */
export const EIGHT_BIT_SCALE = 127.5;

/**
 * The exact divergence of a score, div_x s(x, t) = sum_j d s_j / d x_j, and s itself, for x of
 * shape [B, ...] with D elements per sample: x is tiled D times into a [D B, D] batch whose block
 * k holds x, and one gradient of sum_k sum_b s(block k)_{b, k} gives every Jacobian row's diagonal
 * entry at once (one forward and one backward pass on a D-times larger batch). The score must treat
 * samples independently (true of a score network in inference and of the oracle). Returns the
 * score [B, ...] and the divergence [B].
 */
export function exactScoreDivergence(score: ScoreFn, x: tf.Tensor, t: tf.Tensor): { score: tf.Tensor; divergence: tf.Tensor1D } {
  const B = x.shape[0];
  const D = dimsPerSample(x.shape);
  const sampleShape = x.shape.slice(1);
  let kept: tf.Tensor | undefined;
  try {
    return tf.tidy(() => {
      const tiled = tf.tile(x.reshape([B, D]), [D, 1]);
      const columns = tf.tensor1d(Array.from({ length: D * B }, (_, r) => Math.floor(r / B)), 'int32');
      const mask = tf.oneHot(columns, D).toFloat();
      const grad = tf.grad((X: tf.Tensor) => {
        const s = score(X.reshape([D * B, ...sampleShape]), t).reshape([D * B, D]);
        kept = tf.keep(s.slice([0, 0], [B, D]));
        return tf.sum(tf.mul(s, mask));
      })(tiled);
      const divergence = tf.sum(tf.mul(grad, mask).reshape([D, B, D]), [0, 2]) as tf.Tensor1D;
      return { score: kept!.reshape(x.shape), divergence };
    });
  } finally {
    kept?.dispose();
  }
}

/**
 * Hutchinson's estimate of div_x s(x, t): v^T (ds/dx) v = v . grad_x (v . s(x, t)) with a probe v
 * of x's shape with E[v v^T] = I (Rademacher or Gaussian), one vector-Jacobian product per
 * evaluation. Returns the score and the estimate [B].
 */
export function hutchinsonScoreDivergence(score: ScoreFn, x: tf.Tensor, t: tf.Tensor, probe: tf.Tensor): { score: tf.Tensor; divergence: tf.Tensor1D } {
  const B = x.shape[0];
  let kept: tf.Tensor | undefined;
  try {
    return tf.tidy(() => {
      const grad = tf.grad((X: tf.Tensor) => {
        const s = score(X, t);
        kept = tf.keep(tf.clone(s));
        return tf.sum(tf.mul(s, probe));
      })(x);
      const divergence = tf.sum(tf.mul(grad, probe).reshape([B, -1]), 1) as tf.Tensor1D;
      return { score: tf.clone(kept!), divergence };
    });
  } finally {
    kept?.dispose();
  }
}

/**
 * A fixed probe of the given shape, seeded: Rademacher (+-1 with probability 1/2 each, the
 * sign of a normal draw) or standard Gaussian, from normalArray(mixSeed(seed, 11)).
 */
export function hutchinsonProbe(shape: number[], kind: Probe, seed: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const z = normalArray(n, mixSeed(seed, PROBE_STREAM));
  if (kind === 'rademacher') for (let i = 0; i < n; i++) z[i] = z[i] < 0 ? -1 : 1;
  return tf.tensor(z, shape, 'float32');
}

export interface OdeLikelihoodOptions {
  /** Start time eps of the ODE (default 1e-5): the result is log p_eps(x). */
  eps?: number;
  /** Dormand-Prince tolerances on the augmented state [x, delta] (default 1e-5 each) and step cap. */
  rtol?: number;
  atol?: number;
  maxSteps?: number;
  /** 'auto' (default): exact for D <= 16, Hutchinson above. */
  divergence?: DivergenceMethod | 'auto';
  /** Hutchinson probe (default 'rademacher'), drawn once per run from `seed` (default 0). */
  probe?: Probe;
  seed?: number;
  onStep?: (accepted: number, t: number) => void;
}

export interface OdeLikelihoodResult {
  /** Per-sample log p_eps(x) = log p_T(x_T) + delta, in nats. */
  logp: Float64Array;
  /** Per-sample log prior density log p_T(x_T) and integrated divergence delta = int_eps^T div F dt. */
  priorLogp: Float64Array;
  delta: Float64Array;
  /** The ODE's end states x_T, row-major [B * D]. */
  xT: Float32Array;
  /** Mean negative log-likelihood per dimension, in nats and in bits (no dequantization offset). */
  natsPerDim: number;
  bitsPerDim: number;
  /** Evaluations of the drift and its divergence (each one score evaluation with one gradient). */
  nfe: number;
  accepted: number;
  rejected: number;
  divergence: DivergenceMethod;
  /** Dimension D per sample. */
  dims: number;
}

/**
 * The log-likelihood of x under the probability-flow ODE by the instantaneous change of variables
 * (Chen et al. 2018; Song et al. 2021, appendix D.2): with F(x, t) = f(x, t) - 1/2 g(t)^2 s(x, t),
 * integrate d/dt [x, delta] = [F(x, t), div_x F(x, t)] from t = eps (x_eps = x, delta = 0) up to T
 * with adaptive Dormand-Prince 5(4); then log p_eps(x) = log p_T(x_T) + delta(T), where
 * div_x F = a(t) D - 1/2 g(t)^2 div_x s. The divergence is exact (exactScoreDivergence) or
 * Hutchinson's estimate with one probe fixed for the whole run (unbiased for log p_eps given the
 * path). x is [B, ...] in the model's coordinates; nothing is read back but the error norm per step.
 */
export function odeLogLikelihood(sde: SDE, score: ScoreFn, x: tf.Tensor, options: OdeLikelihoodOptions = {}): OdeLikelihoodResult {
  const eps = options.eps ?? DEFAULT_LIKELIHOOD_EPS;
  if (!(eps > 0 && eps < sde.T)) throw new Error(`odeLogLikelihood: eps must lie in (0, T = ${sde.T}), got ${eps}`);
  const B = x.shape[0];
  const D = dimsPerSample(x.shape);
  const sampleShape = x.shape.slice(1);
  const choice = options.divergence ?? 'auto';
  const method: DivergenceMethod = choice === 'auto' ? (D <= EXACT_DIVERGENCE_MAX_DIM ? 'exact' : 'hutchinson') : choice;
  const probe = method === 'hutchinson' ? hutchinsonProbe(x.shape, options.probe ?? 'rademacher', options.seed ?? 0) : undefined;
  let nfe = 0;
  const F = (z: tf.Tensor, t: number): tf.Tensor => {
    nfe++;
    const xt = z.slice([0, 0], [B, D]).reshape(x.shape);
    const tt = tf.scalar(t, 'float32');
    const { score: s, divergence } = method === 'exact' ? exactScoreDivergence(score, xt, tt) : hutchinsonScoreDivergence(score, xt, tt, probe!);
    // F = a x - 1/2 g^2 s and div F = a D - 1/2 g^2 div s, with c = { x: a, score: -1/2 g^2 }.
    const c = driftCoefficients(sde, t, PROBABILITY_FLOW);
    const dx = tf.add(tf.mul(xt, c.x), tf.mul(s, c.score)).reshape([B, D]);
    const dDelta = tf.add(tf.mul(divergence, c.score), c.x * D).reshape([B, 1]);
    return tf.concat([dx, dDelta], 1);
  };
  const z0 = tf.tidy(() => tf.concat([x.reshape([B, D]).toFloat(), tf.zeros([B, 1])], 1));
  let solved;
  try {
    solved = dormandPrince(F, z0, eps, sde.T, { rtol: options.rtol, atol: options.atol, maxSteps: options.maxSteps, onStep: options.onStep, label: 'nll ode' }, true);
  } finally {
    probe?.dispose();
  }
  const z = solved.x;
  const [endT, priorT, deltaT] = tf.tidy(() => {
    const end = z.slice([0, 0], [B, D]);
    return [end, sde.priorLogProb(end.reshape([B, ...sampleShape])), z.slice([0, D], [B, 1]).reshape([B])];
  });
  const xT = Float32Array.from(endT.dataSync());
  const priorLogp = Float64Array.from(priorT.dataSync());
  const delta = Float64Array.from(deltaT.dataSync());
  tf.dispose([z, endT, priorT, deltaT]);
  const logp = priorLogp.map((p, i) => p + delta[i]);
  const natsPerDim = -logp.reduce((s, v) => s + v, 0) / (B * D);
  return { logp, priorLogp, delta, xT, natsPerDim, bitsPerDim: natsPerDim / Math.LN2, nfe, accepted: solved.accepted, rejected: solved.rejected, divergence: method, dims: D };
}

/**
 * Uniform dequantization of 8-bit data on [-1, 1] (levels k / 127.5 - 1):
 * x + (u - 1/2) / 127.5 with u ~ U[0, 1) per element (host, seeded), so each level's bin of width
 * 1/127.5 is centred on it. Then -log P(k) <= E_u[-log p(x + (u - 1/2)/127.5)] + D log 127.5.
 */
export function dequantize(values: ArrayLike<number>, seed: number): Float32Array {
  const u = uniformRng(seed);
  return Float32Array.from(values, (v) => v + (u() - 0.5) / EIGHT_BIT_SCALE);
}

/** The first element of `values` that is not one of the 256 levels k / 127.5 - 1 of [-1, 1] (within 1e-3 of a bin), or -1. */
export function offEightBitGrid(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) {
    const k = (values[i] + 1) * EIGHT_BIT_SCALE;
    if (!(k > -1e-3 && k < 255 + 1e-3 && Math.abs(k - Math.round(k)) < 1e-3)) return i;
  }
  return -1;
}

/**
 * Bits per dimension from nats per dimension: nats / log 2, plus for uniformly dequantized 8-bit
 * data on [-1, 1] the offset of its bin width 1/127.5: (nats + log 127.5) / log 2
 * (= nats / log 2 + 6.994), a bound on the discrete NLL of the 8-bit values.
 */
export function bitsPerDim(natsPerDim: number, dequantized = false): number {
  return (natsPerDim + (dequantized ? Math.log(EIGHT_BIT_SCALE) : 0)) / Math.LN2;
}
